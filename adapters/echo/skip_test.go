package echocache_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	echocache "github.com/strata-cache/strata/adapters/echo"
	"github.com/strata-cache/strata/core"
)

// The Skipper passes the GET and HEAD requests it selects by the cache (core's skip: no
// lookup, no store, "fwd=bypass; detail=skip"), with the route's policy still applied; it is
// not asked about other methods, and a skipped-looking PUT still invalidates.
func TestSkipper(t *testing.T) {
	c := newCache(t, core.Config{})
	e := echo.New()
	var mu sync.Mutex
	asked := map[string]int{}
	e.Use(recoverer, echocache.MiddlewareWithConfig(c, echocache.Config{
		Skipper: func(c echo.Context) bool {
			mu.Lock()
			asked[c.Request().Method]++
			mu.Unlock()
			return c.Request().Header.Get("X-No-Cache") != ""
		},
	}))
	runs := 0
	e.Match([]string{http.MethodGet, http.MethodHead}, "/s", func(c echo.Context) error {
		runs++
		return c.String(200, "run "+string(rune('0'+runs)))
	}, echocache.Policy(public))
	e.PUT("/s", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })

	w := do(e, "GET", "/s", "X-No-Cache: 1")
	wantCacheStatus(t, w, "strata; fwd=bypass; detail=skip")
	if w.Body.String() != "run 1" || w.Header().Get("Cache-Control") != public.CacheControl() {
		t.Fatalf("skipped: %q, Cache-Control %q", w.Body.String(), w.Header().Get("Cache-Control"))
	}
	wantCacheStatus(t, do(e, "GET", "/s"), "strata; fwd=uri-miss; ttl=60; stored")
	wantCacheStatus(t, do(e, "GET", "/s"), "strata; hit; ttl=60")
	w = do(e, "GET", "/s", "X-No-Cache: 1")
	wantCacheStatus(t, w, "strata; fwd=bypass; detail=skip")
	if w.Body.String() != "run 3" {
		t.Fatalf("skipped after the fill: %q", w.Body.String())
	}
	wantCacheStatus(t, do(e, "HEAD", "/s", "X-No-Cache: 1"), "strata; fwd=bypass; detail=skip")
	w = do(e, "PUT", "/s", "X-No-Cache: 1")
	wantStatus(t, w, http.StatusNoContent)
	wantCacheStatus(t, w, "strata; fwd=method")
	wantCacheStatus(t, do(e, "GET", "/s"), "strata; fwd=uri-miss; ttl=60; stored") // the PUT invalidated
	if asked["PUT"] != 0 || asked["GET"] != 5 || asked["HEAD"] != 1 {
		t.Fatalf("Skipper asked about %v", asked)
	}
	// echo's own skippers have the same type.
	_ = echocache.Config{Skipper: middleware.DefaultSkipper}
}
