package chicache_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	chicache "github.com/strata-cache/strata/adapters/chi"
	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// Config.Skip passes the GET and HEAD requests it selects by the cache (core's skip: no
// lookup, no store, "fwd=bypass; detail=skip"), with the route's policy still applied; it is
// not asked about other methods, and a skipped-looking PUT still invalidates.
func TestSkip(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := core.New(core.Config{Clock: func() time.Time { return now }, Jitter: -1, Beta: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	public := headers.Public(time.Minute)
	var mu sync.Mutex
	asked := map[string]int{}
	r := chi.NewRouter()
	r.Use(chicache.MiddlewareWithConfig(c, chicache.Config{
		Skip: func(r *http.Request) bool {
			mu.Lock()
			asked[r.Method]++
			mu.Unlock()
			return r.Header.Get("X-No-Cache") != ""
		},
	}))
	runs := 0
	h := func(w http.ResponseWriter, r *http.Request) {
		runs++
		_, _ = w.Write([]byte("run " + string(rune('0'+runs))))
	}
	r.With(chicache.Policy(public)).Get("/s", h)
	r.With(chicache.Policy(public)).Head("/s", h)
	r.Put("/s", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	do := func(method string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/s", nil)
		for _, kv := range hdr {
			k, v, _ := strings.Cut(kv, ":")
			req.Header.Add(k, strings.TrimSpace(v))
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w
	}
	want := func(w *httptest.ResponseRecorder, cs string) {
		t.Helper()
		if got := w.Header().Get("Cache-Status"); got != cs {
			t.Fatalf("Cache-Status %q, want %q (status %d, body %q)", got, cs, w.Code, w.Body.String())
		}
	}

	w := do("GET", "X-No-Cache: 1")
	want(w, "strata; fwd=bypass; detail=skip")
	if w.Body.String() != "run 1" || w.Header().Get("Cache-Control") != public.CacheControl() {
		t.Fatalf("skipped: %q, Cache-Control %q", w.Body.String(), w.Header().Get("Cache-Control"))
	}
	want(do("GET"), "strata; fwd=uri-miss; ttl=60; stored")
	want(do("GET"), "strata; hit; ttl=60")
	w = do("GET", "X-No-Cache: 1")
	want(w, "strata; fwd=bypass; detail=skip")
	if w.Body.String() != "run 3" {
		t.Fatalf("skipped after the fill: %q", w.Body.String())
	}
	want(do("HEAD", "X-No-Cache: 1"), "strata; fwd=bypass; detail=skip")
	w = do("PUT", "X-No-Cache: 1")
	want(w, "strata; fwd=method")
	if w.Code != http.StatusNoContent {
		t.Fatalf("PUT: %d", w.Code)
	}
	want(do("GET"), "strata; fwd=uri-miss; ttl=60; stored") // the PUT invalidated
	if asked["PUT"] != 0 || asked["GET"] != 5 || asked["HEAD"] != 1 {
		t.Fatalf("Skip asked about %v", asked)
	}
}
