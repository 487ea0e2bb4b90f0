package echocache_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v5"

	echocache "github.com/strata-cache/strata/adapters/echov5"
	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// discard is a ResponseWriter reused across iterations, so the benchmarks count the
// router's and the cache's allocations, not the recorder's.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }

var benchBody = []byte(`{"id":1,"name":"Product 1","category":"books","price":1.99,"version":1}` + "\n")

func benchServe(b *testing.B, h http.Handler) {
	r := httptest.NewRequest(http.MethodGet, "/products/1", nil)
	w := &discard{h: make(http.Header, 8)}
	h.ServeHTTP(w, r) // fill
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

func product(c *echo.Context) error { return c.JSONBlob(http.StatusOK, benchBody) }

// BenchmarkEchoV5Hit is an L1 hit through echo v5: router, cache middleware, route policy.
func BenchmarkEchoV5Hit(b *testing.B) {
	c := newCache(b, core.Config{})
	e := quietEcho()
	e.Use(echocache.Middleware(c))
	e.GET("/products/:id", product, echocache.Policy(headers.Public(time.Minute)))
	benchServe(b, e)
}

// BenchmarkEchoV5Bare is the same route on echo v5 without the cache.
func BenchmarkEchoV5Bare(b *testing.B) {
	e := quietEcho()
	e.GET("/products/:id", product)
	benchServe(b, e)
}
