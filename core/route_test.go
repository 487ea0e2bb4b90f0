package core

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/strata-cache/strata/headers"
)

// routeObserver records each request's route label and each store's.
type routeObserver struct {
	mu     sync.Mutex
	routes []string
	stores []string
}

func (o *routeObserver) Request(e Event) {
	o.mu.Lock()
	o.routes = append(o.routes, e.Route)
	o.mu.Unlock()
}

func (o *routeObserver) Store(route string, _ Reason, _ bool) {
	o.mu.Lock()
	o.stores = append(o.stores, route)
	o.mu.Unlock()
}
func (o *routeObserver) Error(TierName, Op)         {}
func (o *routeObserver) Purge(PurgeKind, int)       {}
func (o *routeObserver) Waiter(time.Duration, bool) {}

func (o *routeObserver) take() (routes, stores []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	routes, stores = o.routes, o.stores
	o.routes, o.stores = nil, nil
	return routes, stores
}

// On plain net/http, with no HandlerOptions.Route, requests are labelled with the pattern of
// the ServeMux route that handled them (without its method): on fills (the mux sets the
// Pattern on the fill's request, which the cache reads after the handler returned), on hits
// (from the entry), on answers not stored and on other methods.
func TestRouteFromServeMux(t *testing.T) {
	obs := &routeObserver{}
	c, _ := newTestCache(t, Config{Observer: obs})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /products/{id}", publicHandler("max-age=60", "p"))
	mux.HandleFunc("PUT /products/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.Handle("GET /me", PolicyMiddleware(headers.Private())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "me")
	})))
	mux.HandleFunc("example.com/host/{x}", publicHandler("max-age=60", "h"))
	h := c.Middleware(mux)

	do(t, h, "GET", "/products/1")
	wantCacheStatus(t, do(t, h, "GET", "/products/1"), "strata; hit; ttl=60")
	do(t, h, "HEAD", "/products/2")
	do(t, h, "GET", "/me")
	do(t, h, "PUT", "/products/1")
	do(t, h, "GET", "http://example.com/host/a")
	do(t, h, "GET", "/nowhere") // the mux's 404 for an unknown path: no pattern
	routes, stores := obs.take()
	want := []string{"/products/{id}", "/products/{id}", "/products/{id}", "/me", "/products/{id}", "example.com/host/{x}", ""}
	if !slices.Equal(routes, want) {
		t.Fatalf("request routes: got %q, want %q", routes, want)
	}
	if want := []string{"/products/{id}", "/products/{id}", "/me", "example.com/host/{x}", ""}; !slices.Equal(stores, want) {
		t.Fatalf("store routes: got %q, want %q", stores, want)
	}

	// A middleware between the cache and the mux that passes on a copy of the request: the
	// mux sets the Pattern on the copy, so only a route Policy, which records it, names it.
	obs2 := &routeObserver{}
	c2, _ := newTestCache(t, Config{Observer: obs2})
	copying := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(r.Context()))
		})
	}
	mux2 := http.NewServeMux()
	mux2.Handle("GET /with/{p}", PolicyMiddleware(headers.Public(time.Minute))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "w")
	})))
	mux2.HandleFunc("GET /without/{p}", publicHandler("max-age=60", "x"))
	h2 := c2.Middleware(copying(mux2))
	do(t, h2, "GET", "/with/1")
	do(t, h2, "GET", "/without/1")
	if routes, _ := obs2.take(); !slices.Equal(routes, []string{"/with/{p}", ""}) {
		t.Fatalf("behind a copying middleware: got %q", routes)
	}

	// An adapter's Route wins.
	obs3 := &routeObserver{}
	c3, _ := newTestCache(t, Config{Observer: obs3})
	h3 := c3.Handler(mux, HandlerOptions{Route: func(*http.Request) string { return "mine" }})
	do(t, h3, "GET", "/products/1")
	if routes, _ := obs3.take(); !slices.Equal(routes, []string{"mine"}) {
		t.Fatalf("with HandlerOptions.Route: got %q", routes)
	}
}

func TestMuxRoute(t *testing.T) {
	for pattern, want := range map[string]string{
		"":                    "",
		"/":                   "/",
		"GET /a/{id}":         "/a/{id}",
		"GET  /a":             "/a",
		"example.com/a":       "example.com/a",
		"POST example.com/a/": "example.com/a/",
	} {
		if got := muxRoute(&http.Request{Pattern: pattern}, nil); got != want {
			t.Errorf("muxRoute(%q) = %q, want %q", pattern, got, want)
		}
	}
}
