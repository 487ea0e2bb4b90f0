package core_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

func ExampleNew() {
	cache, err := core.New(core.Config{L1MaxBytes: 32 << 20})
	if err != nil {
		panic(err)
	}
	defer func() { _ = cache.Close() }()
	fmt.Println("ready")
	// Output: ready
}

func ExampleCache_Middleware() {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cache, _ := core.New(core.Config{Clock: func() time.Time { return now }})
	defer func() { _ = cache.Close() }()
	runs := 0
	h := cache.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs++
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = io.WriteString(w, "hello")
	}))
	for i := 0; i < 2; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/greeting", nil))
		fmt.Println(w.Code, w.Body.String(), w.Header().Get("Cache-Status"))
	}
	fmt.Println("handler runs:", runs)
	// Output:
	// 200 hello strata; fwd=uri-miss; ttl=60; stored
	// 200 hello strata; hit; ttl=60
	// handler runs: 1
}

func ExamplePolicyMiddleware() {
	cache, _ := core.New(core.Config{})
	defer func() { _ = cache.Close() }()
	route := core.PolicyMiddleware(headers.Public(10 * time.Second).SMaxAge(time.Minute))
	h := cache.Middleware(route(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":1}`)
	})))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/products/1", nil))
	fmt.Println(w.Header().Get("Cache-Control"))
	// Output: public, max-age=10, s-maxage=60
}

func ExampleCache_PurgeTags() {
	cache, _ := core.New(core.Config{})
	defer func() { _ = cache.Close() }()
	h := cache.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Surrogate-Key", "product:1 category:books")
		_, _ = io.WriteString(w, "p1")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/products/1", nil))
	n, err := cache.PurgeTags(context.Background(), "product:1")
	fmt.Println(n, err)
	// Output: 1 <nil>
}

func ExampleCache_PurgeHandler() {
	cache, _ := core.New(core.Config{})
	defer func() { _ = cache.Close() }()
	admin := cache.PurgeHandler("s3cret")
	r := httptest.NewRequest("POST", "/admin/purge?tag=product:1", nil)
	r.Header.Set("Authorization", "Bearer s3cret")
	w := httptest.NewRecorder()
	admin.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output: 200 {"purged":0}
}
