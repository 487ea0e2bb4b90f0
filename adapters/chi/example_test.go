package chicache_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	chicache "github.com/strata-cache/strata/adapters/chi"
	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

func ExampleMiddleware() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cache, _ := core.New(core.Config{Clock: func() time.Time { return now }})
	defer func() { _ = cache.Close() }()

	r := chi.NewRouter()
	r.Use(chicache.Middleware(cache))
	r.With(chicache.Policy(headers.Public(10*time.Second).SMaxAge(time.Minute))).
		Get("/products/{id}", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"id":"`+chi.URLParam(r, "id")+`"}`)
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
	r := chi.NewRouter()
	r.Use(chicache.Middleware(cache))
	r.With(chicache.Policy(headers.Private())).Get("/me", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "mine")
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/me", nil))
	fmt.Println(w.Header().Get("Cache-Control"), "|", w.Header().Get("Cache-Status"))
	// Output: private | strata; fwd=uri-miss; fwd-status=200; detail=private
}

// Config.Skip passes the GET and HEAD requests it selects by the cache: the next handler
// answers them, nothing is looked up or stored, and Cache-Status says so.
func ExampleMiddlewareWithConfig() {
	cache, _ := core.New(core.Config{})
	defer func() { _ = cache.Close() }()
	r := chi.NewRouter()
	r.Use(chicache.MiddlewareWithConfig(cache, chicache.Config{
		Skip: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/admin/") },
	}))
	handler := func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }
	r.With(chicache.Policy(headers.Public(time.Minute))).Get("/admin/stats", handler)
	r.With(chicache.Policy(headers.Public(time.Minute))).Get("/stats", handler)
	for _, path := range []string{"/admin/stats", "/stats"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s: %q\n", path, w.Header().Get("Cache-Status"))
	}
	// Output:
	// /admin/stats: "strata; fwd=bypass; detail=skip"
	// /stats: "strata; fwd=uri-miss; ttl=60; stored"
}
