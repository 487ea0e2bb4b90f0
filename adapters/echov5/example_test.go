package echocache_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	echocache "github.com/strata-cache/strata/adapters/echov5"
	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

func ExampleMiddleware() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cache, _ := core.New(core.Config{Clock: func() time.Time { return now }})
	defer func() { _ = cache.Close() }()

	e := echo.New()
	e.Use(echocache.Middleware(cache))
	e.Match([]string{http.MethodGet, http.MethodHead}, "/products/:id", func(c *echo.Context) error {
		return c.JSONBlob(http.StatusOK, []byte(`{"id":"`+c.Param("id")+`"}`))
	}, echocache.Policy(headers.Public(10*time.Second).SMaxAge(time.Minute)))

	for i := 0; i < 2; i++ {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest("GET", "/products/7", nil))
		fmt.Println(w.Body.String(), w.Header().Get("Cache-Status"))
	}
	// Output:
	// {"id":"7"} strata; fwd=uri-miss; ttl=60; stored
	// {"id":"7"} strata; hit; ttl=60
}

func ExamplePolicy() {
	cache, _ := core.New(core.Config{})
	defer func() { _ = cache.Close() }()
	e := echo.New()
	e.Use(echocache.Middleware(cache))
	e.GET("/me", func(c *echo.Context) error { return c.String(http.StatusOK, "mine") },
		echocache.Policy(headers.Private()))
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/me", nil))
	fmt.Println(w.Header().Get("Cache-Control"), "|", w.Header().Get("Cache-Status"))
	// Output: private | strata; fwd=uri-miss; fwd-status=200; detail=private
}

// A returned error is answered by echo's HTTPErrorHandler inside the cache: the 503 is seen,
// passed on, and never stored. The middleware in front gets the error, as without the
// cache, and echo does not answer it twice.
func ExampleMiddleware_error() {
	cache, _ := core.New(core.Config{})
	defer func() { _ = cache.Close() }()
	e := echo.New()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			err := next(c)
			fmt.Println("seen in front:", err)
			return err
		}
	}, echocache.Middleware(cache))
	e.GET("/busy", func(c *echo.Context) error {
		return echo.NewHTTPError(http.StatusServiceUnavailable, "busy")
	}, echocache.Policy(headers.Public(time.Minute)))
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/busy", nil))
	fmt.Print(w.Code, " ", w.Header().Get("Cache-Status"), " ", w.Body.String())
	// Output:
	// seen in front: code=503, message=busy
	// 503 strata; fwd=uri-miss; fwd-status=503; detail=status {"message":"busy"}
}

// The Skipper passes the GET and HEAD requests it selects by the cache: the rest of the chain
// answers them, nothing is looked up or stored, and Cache-Status says so.
func ExampleMiddlewareWithConfig() {
	cache, _ := core.New(core.Config{})
	defer func() { _ = cache.Close() }()
	e := echo.New()
	e.Use(echocache.MiddlewareWithConfig(cache, echocache.Config{
		Skipper: func(c *echo.Context) bool { return strings.HasPrefix(c.Path(), "/admin/") },
	}))
	handler := func(c *echo.Context) error { return c.String(http.StatusOK, "ok") }
	e.GET("/admin/stats", handler, echocache.Policy(headers.Public(time.Minute)))
	e.GET("/stats", handler, echocache.Policy(headers.Public(time.Minute)))
	for _, path := range []string{"/admin/stats", "/stats"} {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s: %q\n", path, w.Header().Get("Cache-Status"))
	}
	// Output:
	// /admin/stats: "strata; fwd=bypass; detail=skip"
	// /stats: "strata; fwd=uri-miss; ttl=60; stored"
}
