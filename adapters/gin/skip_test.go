package gincache_test

import (
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	gincache "github.com/strata-cache/strata/adapters/gin"
	"github.com/strata-cache/strata/core"
)

// Config.Skip passes the GET and HEAD requests it selects by the cache (core's skip: no
// lookup, no store, "fwd=bypass; detail=skip"), with the route's policy still applied; it is
// not asked about other methods, and a skipped-looking PUT still invalidates.
func TestSkip(t *testing.T) {
	c := newCache(t, core.Config{})
	r := gin.New()
	var mu sync.Mutex
	asked := map[string]int{}
	r.Use(gin.RecoveryWithWriter(io.Discard), gincache.MiddlewareWithConfig(c, gincache.Config{
		Skip: func(c *gin.Context) bool {
			mu.Lock()
			asked[c.Request.Method]++
			mu.Unlock()
			return c.GetHeader("X-No-Cache") != ""
		},
	}))
	runs := 0
	h := func(c *gin.Context) {
		runs++
		c.String(200, "run "+string(rune('0'+runs)))
	}
	r.GET("/s", gincache.Policy(public), h)
	r.HEAD("/s", gincache.Policy(public), h)
	r.PUT("/s", func(c *gin.Context) { c.Status(http.StatusNoContent) })

	w := do(r, "GET", "/s", "X-No-Cache: 1")
	wantCacheStatus(t, w, "strata; fwd=bypass; detail=skip")
	if w.Body.String() != "run 1" || w.Header().Get("Cache-Control") != public.CacheControl() {
		t.Fatalf("skipped: %q, Cache-Control %q", w.Body.String(), w.Header().Get("Cache-Control"))
	}
	wantCacheStatus(t, do(r, "GET", "/s"), "strata; fwd=uri-miss; ttl=60; stored")
	wantCacheStatus(t, do(r, "GET", "/s"), "strata; hit; ttl=60")
	w = do(r, "GET", "/s", "X-No-Cache: 1")
	wantCacheStatus(t, w, "strata; fwd=bypass; detail=skip")
	if w.Body.String() != "run 3" {
		t.Fatalf("skipped after the fill: %q", w.Body.String())
	}
	wantCacheStatus(t, do(r, "HEAD", "/s", "X-No-Cache: 1"), "strata; fwd=bypass; detail=skip")
	w = do(r, "PUT", "/s", "X-No-Cache: 1")
	wantStatus(t, w, http.StatusNoContent)
	wantCacheStatus(t, w, "strata; fwd=method")
	wantCacheStatus(t, do(r, "GET", "/s"), "strata; fwd=uri-miss; ttl=60; stored") // the PUT invalidated
	if asked["PUT"] != 0 || asked["GET"] != 5 || asked["HEAD"] != 1 {
		t.Fatalf("Skip asked about %v", asked)
	}
	// gin's Skipper (gin.LoggerConfig.Skip) has the same type.
	var skipper gin.Skipper = func(*gin.Context) bool { return false }
	_ = gincache.Config{Skip: skipper}
}
