package core

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// trailerServers runs h behind the cache on real servers, HTTP/1.1 and HTTP/2: trailers
// exist only on the wire.
func trailerServers(t *testing.T, h http.Handler) map[string]*httptest.Server {
	t.Helper()
	h1 := httptest.NewServer(h)
	t.Cleanup(h1.Close)
	h2 := httptest.NewUnstartedServer(h)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	t.Cleanup(h2.Close)
	return map[string]*httptest.Server{"http1": h1, "http2": h2}
}

// getWithTrailers sends GET and returns the response with its body read, so resp.Trailer
// is complete.
func getWithTrailers(t *testing.T, srv *httptest.Server, path string) (*http.Response, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestTrailersPassThrough: an answer with trailers gets them to its client through the cache
// exactly as without it (HTTP/1.1 and HTTP/2), on a miss and on the next request, which is
// never a hit without them: such answers are not stored.
func TestTrailersPassThrough(t *testing.T) {
	big := strings.Repeat("x", 64<<10) // past net/http's 2 KiB buffer: the header goes out before the handler returns
	for _, tc := range []struct {
		path string
		h    http.HandlerFunc
		// detail is the Cache-Status detail; h1Lost: net/http itself drops the trailer on
		// HTTP/1.1 (an undeclared trailer after a small body goes out with Content-Length).
		detail string
		h1Lost bool
	}{
		{path: "/declared", detail: "trailers", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Trailer", "X-Checksum")
			_, _ = io.WriteString(w, "body")
			w.Header().Set("X-Checksum", "c1")
		}},
		{path: "/declared-big", detail: "trailers", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Trailer", "X-Checksum")
			_, _ = io.WriteString(w, big)
			w.Header().Set("X-Checksum", "c1")
		}},
		{path: "/prefix-big", detail: "trailers", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = io.WriteString(w, big)
			w.Header().Set(http.TrailerPrefix+"X-Checksum", "c1")
		}},
		{path: "/prefix", detail: "trailers", h1Lost: true, h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = io.WriteString(w, "body")
			w.Header().Set(http.TrailerPrefix+"X-Checksum", "c1")
		}},
		{path: "/flushed", detail: "streamed", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Trailer", "X-Checksum")
			_, _ = io.WriteString(w, "body")
			_ = http.NewResponseController(w).Flush()
			w.Header().Set("X-Checksum", "c1")
		}},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			c, _ := newTestCache(t, Config{})
			o := newOrigin(tc.h)
			bare := trailerServers(t, tc.h)
			for proto, srv := range trailerServers(t, c.Middleware(o)) {
				want := "c1"
				if tc.h1Lost && proto == "http1" {
					want = ""
				}
				resp, b := getWithTrailers(t, bare[proto], tc.path)
				if got := resp.Trailer.Get("X-Checksum"); got != want {
					t.Fatalf("%s without the cache: trailer %q, want %q (the test's premise)", proto, got, want)
				}
				wantBody := b
				before := o.runs.Load()
				for i := range 2 {
					resp, b := getWithTrailers(t, srv, tc.path)
					cs := resp.Header.Get("Cache-Status")
					if b != wantBody {
						t.Fatalf("%s request %d: body of %d bytes, want %d (Cache-Status %q)", proto, i+1, len(b), len(wantBody), cs)
					}
					if got := resp.Trailer.Get("X-Checksum"); got != want {
						t.Fatalf("%s request %d: trailer X-Checksum %q, want %q as without the cache (trailers %v, Cache-Status %q)",
							proto, i+1, got, want, resp.Trailer, cs)
					}
					if want := "strata; fwd=uri-miss; fwd-status=200; detail=" + tc.detail; cs != want {
						t.Fatalf("%s request %d: Cache-Status %q, want %q", proto, i+1, cs, want)
					}
				}
				if got := o.runs.Load() - before; got != 2 {
					t.Fatalf("%s: origin ran %d times for two requests, want 2 (never a hit without trailers)", proto, got)
				}
			}
		})
	}
}
