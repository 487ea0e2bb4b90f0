package core_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/strata-cache/strata/core"
)

func ExampleCache_Warm() {
	cache, err := core.New(core.Config{})
	if err != nil {
		panic(err)
	}
	defer func() { _ = cache.Close() }()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /products/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, s-maxage=60")
		_, _ = io.WriteString(w, "product "+r.PathValue("id"))
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private")
		_, _ = io.WriteString(w, "you")
	})
	app := cache.Middleware(mux) // the whole application, as clients reach it

	// In a program: urls, err := core.WarmFile("warm.txt")
	urls := slices.Values([]string{"/products/1", "/products/2", "/products/1", "/me", "/nowhere"})
	sum, err := cache.Warm(context.Background(), app, urls, core.WarmOptions{Host: "api.example.com", Concurrency: 1})
	if err != nil {
		panic(err)
	}
	// /products/1 and /products/2 are stored, the second /products/1 finds it cached, /me is
	// private, and the 404 of /nowhere is not kept: no route declared a policy for it
	// (negative.Rules.AllRoutes would keep it for 10 s).
	fmt.Println(sum)
	// Output:
	// 5 URLs: 2 stored, 1 already cached, 2 not storable, 0 failed
}
