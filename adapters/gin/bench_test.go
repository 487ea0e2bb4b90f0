package gincache_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	gincache "github.com/strata-cache/strata/adapters/gin"
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

func product(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", benchBody)
}

// BenchmarkGinHit is an L1 hit through gin: engine, cache middleware, route policy.
func BenchmarkGinHit(b *testing.B) {
	c := newCache(b, core.Config{})
	r := gin.New()
	r.Use(gincache.Middleware(c))
	r.GET("/products/:id", gincache.Policy(headers.Public(time.Minute)), product)
	benchServe(b, r)
}

// BenchmarkGinBare is the same route on gin without the cache.
func BenchmarkGinBare(b *testing.B) {
	r := gin.New()
	r.GET("/products/:id", product)
	benchServe(b, r)
}

// BenchmarkNetHTTPHit is the same L1 hit through core's net/http middleware, for reference.
func BenchmarkNetHTTPHit(b *testing.B) {
	c := newCache(b, core.Config{})
	h := c.Middleware(core.PolicyMiddleware(headers.Public(time.Minute))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(benchBody)
	})))
	benchServe(b, h)
}
