package chicache

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// Middleware returns chi middleware that caches responses through c. Mount it on the router
// (r.Use) or on a group; it labels metrics with chi's route pattern. A stale answer that an
// outer middleware cannot flush is refreshed in the background, with a copy of chi's route
// context (chi pools the request's own).
func Middleware(c *core.Cache) func(http.Handler) http.Handler {
	return MiddlewareWithConfig(c, Config{})
}

// Config configures [MiddlewareWithConfig].
type Config struct {
	// Skip, when it returns true for a GET or HEAD request, passes the request by the cache
	// to the next handler: nothing is looked up or stored, and the response says
	// "Cache-Status: strata; fwd=bypass; detail=skip" (core.Config.Skip, per middleware). It
	// is not asked about other methods: they are never looked up or stored, and a successful
	// unsafe request still invalidates its URL, as the write changes what other requests
	// have cached. A route's Policy still sets the Cache-Control, CDN-Cache-Control and Vary
	// fields for the CDN and the browser. Mounted with r.Use, the cache runs before chi
	// routes the request, so chi's route pattern is not known yet: decide on the request.
	// Default: skip nothing.
	Skip func(r *http.Request) bool
}

// MiddlewareWithConfig is [Middleware] with a [Config]:
//
//	r.Use(chicache.MiddlewareWithConfig(cache, chicache.Config{
//		Skip: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/admin/") },
//	}))
func MiddlewareWithConfig(c *core.Cache, config Config) func(http.Handler) http.Handler {
	opts := core.HandlerOptions{Route: routePattern, Detach: detach}
	opts.Skip = config.Skip
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

// detach gives the cache's request for a background refresh a clone of chi's route context:
// the request's own goes back to the router's pool when the request returns, and is reused
// by the next one while the refresh routes.
func detach(r *http.Request) *http.Request {
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rc.Clone()))
}
