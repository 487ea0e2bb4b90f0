package core_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/strata-cache/strata/core"
)

// KeySegments keys every request on its tenant as well as its URL: two tenants never share
// an entry, and PurgeWithSegments removes one tenant's copy of a URL.
func ExampleConfig_keySegments() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cache, _ := core.New(core.Config{
		Clock: func() time.Time { return now },
		// X-Tenant is set by the authenticating proxy in front, never by clients.
		KeySegments: func(r *http.Request) []string {
			return []string{r.Header.Get("X-Tenant")}
		},
	})
	defer func() { _ = cache.Close() }()
	h := cache.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = io.WriteString(w, "plan of "+r.Header.Get("X-Tenant"))
	}))
	get := func(tenant string) {
		r := httptest.NewRequest("GET", "http://api.example.com/plan", nil)
		r.Header.Set("X-Tenant", tenant)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%s: %s (%s)\n", tenant, w.Body.String(), w.Header().Get("Cache-Status"))
	}
	get("acme")
	get("globex")
	get("acme")
	n, _ := cache.PurgeWithSegments(context.Background(), "http://api.example.com/plan", "acme")
	fmt.Println("purged", n)
	get("acme")
	get("globex")
	// Output:
	// acme: plan of acme (strata; fwd=uri-miss; ttl=60; stored)
	// globex: plan of globex (strata; fwd=uri-miss; ttl=60; stored)
	// acme: plan of acme (strata; hit; ttl=60)
	// purged 1
	// acme: plan of acme (strata; fwd=uri-miss; ttl=60; stored)
	// globex: plan of globex (strata; hit; ttl=60)
}

// Skip passes the requests it selects by the cache: the handler answers them, nothing is
// looked up or stored, and Cache-Status says why.
func ExampleConfig_skip() {
	cache, _ := core.New(core.Config{
		Skip: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/live/") },
	})
	defer func() { _ = cache.Close() }()
	h := cache.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = io.WriteString(w, "ok")
	}))
	for _, path := range []string{"/live/score", "/live/score", "/static/rules"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s: %s\n", path, w.Header().Get("Cache-Status"))
	}
	// Output:
	// /live/score: strata; fwd=bypass; detail=skip
	// /live/score: strata; fwd=bypass; detail=skip
	// /static/rules: strata; fwd=uri-miss; ttl=60; stored
}
