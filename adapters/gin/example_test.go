package gincache_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	gincache "github.com/strata-cache/strata/adapters/gin"
	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

func ExampleMiddleware() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cache, _ := core.New(core.Config{Clock: func() time.Time { return now }})
	defer func() { _ = cache.Close() }()

	r := gin.New()
	r.Use(gin.Recovery(), gincache.Middleware(cache))
	r.Match([]string{http.MethodGet, http.MethodHead}, "/products/:id",
		gincache.Policy(headers.Public(10*time.Second).SMaxAge(time.Minute)),
		func(c *gin.Context) {
			c.Data(http.StatusOK, "application/json", []byte(`{"id":"`+c.Param("id")+`"}`))
		})

	for i := 0; i < 2; i++ {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", "/products/7", nil))
		fmt.Println(w.Body.String(), w.Header().Get("Cache-Status"))
	}
	// Output:
	// {"id":"7"} strata; fwd=uri-miss; ttl=60; stored
	// {"id":"7"} strata; hit; ttl=60
}

func ExamplePolicy() {
	cache, _ := core.New(core.Config{})
	defer func() { _ = cache.Close() }()
	r := gin.New()
	r.Use(gincache.Middleware(cache))
	r.GET("/me", gincache.Policy(headers.Private()), func(c *gin.Context) {
		c.String(http.StatusOK, "mine")
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/me", nil))
	fmt.Println(w.Header().Get("Cache-Control"), "|", w.Header().Get("Cache-Status"))
	// Output: private | strata; fwd=uri-miss; fwd-status=200; detail=private
}

// Config.Skip passes the GET and HEAD requests it selects by the cache: the rest of the chain
// answers them, nothing is looked up or stored, and Cache-Status says so.
func ExampleMiddlewareWithConfig() {
	cache, _ := core.New(core.Config{})
	defer func() { _ = cache.Close() }()
	r := gin.New()
	r.Use(gin.Recovery(), gincache.MiddlewareWithConfig(cache, gincache.Config{
		Skip: func(c *gin.Context) bool { return strings.HasPrefix(c.FullPath(), "/admin/") },
	}))
	handler := func(c *gin.Context) { c.String(http.StatusOK, "ok") }
	r.GET("/admin/stats", gincache.Policy(headers.Public(time.Minute)), handler)
	r.GET("/stats", gincache.Policy(headers.Public(time.Minute)), handler)
	for _, path := range []string{"/admin/stats", "/stats"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s: %q\n", path, w.Header().Get("Cache-Status"))
	}
	// Output:
	// /admin/stats: "strata; fwd=bypass; detail=skip"
	// /stats: "strata; fwd=uri-miss; ttl=60; stored"
}
