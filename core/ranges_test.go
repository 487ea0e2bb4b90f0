package core

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// RFC 9110 §14: a GET with Range is answered from a stored 200: one satisfiable range as 206
// with Content-Range, an unsatisfiable one as 416 with "bytes */len", anything else (several
// ranges, another unit, an invalid range, a failed If-Range, HEAD) with the whole 200.
func TestRangeFromStored(t *testing.T) {
	lm := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	tests := []struct {
		hdr    []string
		method string
		status int
		body   string
		cr     string // Content-Range
	}{
		{[]string{"Range: bytes=0-1"}, "GET", 206, "01", "bytes 0-1/11"},
		{[]string{"Range: bytes=1-"}, "GET", 206, "1234567890", "bytes 1-10/11"},
		{[]string{"Range: bytes=-5"}, "GET", 206, "67890", "bytes 6-10/11"},
		{[]string{"Range: bytes=-50"}, "GET", 206, "01234567890", "bytes 0-10/11"},
		{[]string{"Range: bytes=5-100"}, "GET", 206, "567890", "bytes 5-10/11"},
		{[]string{"Range: BYTES = 2-3"}, "GET", 200, "01234567890", ""}, // no OWS before "="
		{[]string{"Range: bytes= 2-3"}, "GET", 206, "23", "bytes 2-3/11"},
		{[]string{"Range: bytes=11-"}, "GET", 416, "", "bytes */11"},
		{[]string{"Range: bytes=-0"}, "GET", 416, "", "bytes */11"},
		{[]string{"Range: bytes=0-1,3-4"}, "GET", 200, "01234567890", ""},
		{[]string{"Range: items=0-1"}, "GET", 200, "01234567890", ""},
		{[]string{"Range: bytes=3-1"}, "GET", 200, "01234567890", ""},
		{[]string{"Range: bytes=0-1"}, "HEAD", 200, "", ""},
		{[]string{"Range: bytes=0-1", `If-Range: "v1"`}, "GET", 206, "01", "bytes 0-1/11"},
		{[]string{"Range: bytes=0-1", `If-Range: "v2"`}, "GET", 200, "01234567890", ""},
		{[]string{"Range: bytes=0-1", `If-Range: W/"v1"`}, "GET", 200, "01234567890", ""},
		{[]string{"Range: bytes=0-1", "If-Range: " + lm}, "GET", 206, "01", "bytes 0-1/11"},
		{[]string{"Range: bytes=0-1", "If-Range: Sun, 01 Nov 2026 00:00:01 GMT"}, "GET", 200, "01234567890", ""},
		{[]string{"Range: bytes=0-1", `If-None-Match: "v1"`}, "GET", 304, "", ""},
	}
	for _, path := range []string{"fast", "full"} {
		c, _ := newTestCache(t, Config{Debug: path == "full"}) // Debug skips the fast path
		o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=3600")
			w.Header().Set("Etag", `"v1"`)
			w.Header().Set("Last-Modified", lm)
			w.Header().Set("A", "1")
			_, _ = w.Write([]byte("01234567890"))
		})
		h := c.Middleware(o)
		do(t, h, "GET", "/r")
		for _, tt := range tests {
			w := do(t, h, tt.method, "/r", tt.hdr...)
			name := path + " " + tt.method + " " + strings.Join(tt.hdr, "; ")
			if w.Code != tt.status || body(w) != tt.body || w.Header().Get("Content-Range") != tt.cr {
				t.Errorf("%s: %d %q Content-Range %q, want %d %q %q", name, w.Code, body(w), w.Header().Get("Content-Range"), tt.status, tt.body, tt.cr)
				continue
			}
			if !strings.Contains(w.Header().Get("Cache-Status"), "hit") {
				t.Errorf("%s: Cache-Status %q, want a hit", name, w.Header().Get("Cache-Status"))
			}
			switch tt.status {
			case 206:
				if w.Header().Get("Content-Length") != itoa(len(tt.body)) || w.Header().Get("A") != "1" || w.Header().Get("Etag") != `"v1"` {
					t.Errorf("%s: fields %v", name, w.Header())
				}
			case 416:
				if w.Header().Get("Content-Length") != "0" {
					t.Errorf("%s: Content-Length %q", name, w.Header().Get("Content-Length"))
				}
			}
		}
		wantRuns(t, o, 1)
	}
}

// FuzzRange: whatever Range and If-Range a client sends, the answer is 200, 206 or 416, and a
// 206 names a range inside the stored body (a request can choose which bytes it gets, never
// bytes outside the representation, and never a panic).
func FuzzRange(f *testing.F) {
	for _, s := range []string{"bytes=0-1", "bytes=-5", "bytes=99999999999999999999999-", "bytes=-99999999999999999999",
		"bytes=5-3", "bytes=-", "bytes=--1", "bytes=0-0,", "bytes=\x00-1", "bytes=1-18446744073709551616"} {
		f.Add(s, "", 11)
	}
	f.Fuzz(func(t *testing.T, rng, ifRangeV string, size int) {
		if size < 0 || size > 1<<20 {
			return
		}
		r, _ := http.NewRequest(http.MethodGet, "http://example.com/", nil)
		r.Header["Range"] = []string{rng}
		if ifRangeV != "" {
			r.Header["If-Range"] = []string{ifRangeV}
		}
		status, first, last := rangeOf(r, `"v1"`, 0, size)
		switch status {
		case http.StatusOK, http.StatusRequestedRangeNotSatisfiable:
		case http.StatusPartialContent:
			if first < 0 || first > last || last >= size {
				t.Fatalf("Range %q on %d bytes: 206 for [%d, %d]", rng, size, first, last)
			}
		default:
			t.Fatalf("Range %q: status %d", rng, status)
		}
	})
}
