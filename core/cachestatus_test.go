package core

import (
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

func wantStatusLines(t *testing.T, h http.Header, want ...string) {
	t.Helper()
	if got := h.Values("Cache-Status"); !slices.Equal(got, want) {
		t.Fatalf("Cache-Status lines: got %q, want %q", got, want)
	}
}

// An upstream's Cache-Status members are kept, first, with this cache's member appended
// (RFC 9211 §2), on every kind of answer: fill, hit, 304, HEAD, collapsed, revalidated, and
// answers not stored (buffered, 304, streamed).
func TestUpstreamCacheStatusKept(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	up := []string{"origin-cache; hit; ttl=100", `"CDN"; fwd=uri-miss; stored`}
	upstreamOn304 := "origin-cache; fwd=stale; fwd-status=304"
	handler := func(cc string) *origin {
		return newOrigin(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Cache-Control", cc)
			h.Set("Etag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				h.Set("Cache-Status", upstreamOn304)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			for _, v := range up {
				h.Add("Cache-Status", v)
			}
			if r.URL.Path == "/stream" {
				_, _ = io.WriteString(w, "a")
				_ = http.NewResponseController(w).Flush()
			}
			_, _ = io.WriteString(w, "body")
		})
	}
	stored := handler("max-age=10")
	h := c.Middleware(stored)

	w := do(t, h, "GET", "/s")
	wantStatus(t, w, 200)
	wantStatusLines(t, w.Header(), up[0], up[1], "strata; fwd=uri-miss; ttl=10; stored")
	w = do(t, h, "GET", "/s")
	wantStatusLines(t, w.Header(), up[0], up[1], "strata; hit; ttl=10")
	w = do(t, h, "HEAD", "/s")
	wantStatusLines(t, w.Header(), up[0], up[1], "strata; hit; ttl=10")
	w = do(t, h, "GET", "/s", `If-None-Match: "v1"`)
	wantStatus(t, w, 304)
	wantStatusLines(t, w.Header(), up[0], up[1], "strata; hit; ttl=10")
	wantRuns(t, stored, 1)

	// A 304 that freshens the entry replaces the stored fields it carries (RFC 9111
	// §4.3.4), the upstream's Cache-Status among them.
	clk.Advance(11 * time.Second)
	w = do(t, h, "GET", "/s")
	wantStatus(t, w, 200)
	wantStatusLines(t, w.Header(), upstreamOn304, "strata; fwd=stale; fwd-status=304; ttl=10; stored")
	w = do(t, h, "GET", "/s")
	wantStatusLines(t, w.Header(), upstreamOn304, "strata; hit; ttl=10")
	wantRuns(t, stored, 2)

	// Not stored: the handler's members, then this cache's.
	private := handler("private")
	h = c.Middleware(private)
	w = do(t, h, "GET", "/p")
	wantStatusLines(t, w.Header(), up[0], up[1], "strata; fwd=uri-miss; fwd-status=200; detail=private")
	w = do(t, h, "GET", "/p", `If-None-Match: "v1", "v0"`)
	wantStatus(t, w, 304)
	wantStatusLines(t, w.Header(), up[0], up[1], "strata; fwd=uri-miss; fwd-status=200; detail=private")
	w = do(t, h, "GET", "/stream")
	wantStatusLines(t, w.Header(), up[0], up[1], "strata; fwd=uri-miss; fwd-status=200; detail=streamed")
	if body(w) != "abody" {
		t.Fatalf("streamed body %q", body(w))
	}
}
