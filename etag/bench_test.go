package etag

import (
	"bytes"
	"net/http"
	"testing"
)

var benchSizes = []struct {
	name string
	n    int
}{
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
	{"1MiB", 1 << 20},
}

// BenchmarkGenerate compares ETag generation with a plain copy of the same
// bytes into a preallocated buffer, the floor for touching every byte once.
func BenchmarkGenerate(b *testing.B) {
	for _, size := range benchSizes {
		body := bytes.Repeat([]byte("0123456789abcdef"), size.n/16)
		b.Run(size.name+"/Strong", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				sink = Strong(body)
			}
		})
		b.Run(size.name+"/AppendStrong", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			dst := make([]byte, 0, strongLen)
			for b.Loop() {
				dst = AppendStrong(dst[:0], body)
			}
		})
		b.Run(size.name+"/copy", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			dst := make([]byte, len(body))
			for b.Loop() {
				copy(dst, body)
			}
		})
	}
}

func BenchmarkWeakMatch(b *testing.B) {
	list := `W/"Ecg9nB7jaBZMCr4XtV22nA", "maoG0wFHmNhgAcMkRo1Jfw", "t0Dq-cnuv7cnPudL-5XtxA"`
	etag := `"t0Dq-cnuv7cnPudL-5XtxA"`
	b.ReportAllocs()
	for b.Loop() {
		if !WeakMatch(list, etag) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkStrongMatch(b *testing.B) {
	list := `"maoG0wFHmNhgAcMkRo1Jfw", "t0Dq-cnuv7cnPudL-5XtxA"`
	etag := `"t0Dq-cnuv7cnPudL-5XtxA"`
	b.ReportAllocs()
	for b.Loop() {
		if !StrongMatch(list, etag) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	etag := `"t0Dq-cnuv7cnPudL-5XtxA"`
	for _, bc := range []struct {
		name string
		h    http.Header
		want Result
	}{
		// What a browser sends to revalidate: both validators.
		{"revalidate", hdr("If-None-Match", etag, "If-Modified-Since", lmDate), Unmodified},
		{"If-Modified-Since", hdr("If-Modified-Since", lmDate), Unmodified},
		{"If-Match", hdr("If-Match", `"a", `+etag), Proceed},
		{"unconditional", hdr("Accept", "text/html"), Proceed},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if Evaluate("GET", bc.h, etag, lm) != bc.want {
					b.Fatal("wrong result")
				}
			}
		})
	}
}

// discardWriter is a ResponseWriter with a reused header map.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// BenchmarkMiddleware measures the middleware's own cost for a 1 KiB page:
// a first request (200 with ETag) and a revalidation (304).
func BenchmarkMiddleware(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1<<10)
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	}))
	for _, bc := range []struct {
		name string
		inm  string
		want int
	}{
		{"200", "", 200},
		{"304", Strong(body), 304},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r, _ := http.NewRequest("GET", "/", nil)
			if bc.inm != "" {
				r.Header.Set("If-None-Match", bc.inm)
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
				if w.code != bc.want {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
