package chicache

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// Middleware returns chi middleware that caches responses through c. Mount it on the router
// (r.Use) or on a group; it labels metrics with chi's route pattern.
func Middleware(c *core.Cache) func(http.Handler) http.Handler {
	opts := core.HandlerOptions{Route: routePattern}
	return func(next http.Handler) http.Handler { return c.Handler(next, opts) }
}

// Policy returns per-route middleware that declares the route's cache policy:
//
//	r.With(chicache.Policy(headers.Public(time.Minute))).Get("/x", h)
//
// The policy sets the Cache-Control, CDN-Cache-Control and Vary fields the handler did not
// set itself, and hands its cache-only settings (tags, negative TTL) to the cache.
func Policy(p headers.Policy) func(http.Handler) http.Handler {
	return core.PolicyMiddleware(p)
}

func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		return rc.RoutePattern()
	}
	return ""
}
