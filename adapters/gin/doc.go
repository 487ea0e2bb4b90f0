// Package gincache exposes Strata's cache as gin middleware.
//
// # Setup
//
//	cache, err := core.New(core.Config{})
//	r := gin.New()
//	r.Use(gin.Recovery(), gincache.Middleware(cache))
//	r.GET("/products/:id", gincache.Policy(headers.Public(10*time.Second).SMaxAge(time.Minute)), getProduct)
//
// Middleware serves GET and HEAD from the cache and invalidates on successful unsafe requests.
// MiddlewareWithConfig takes a Skip func(*gin.Context) bool (gin's Skipper type): the GET and
// HEAD requests it selects pass the cache by ("fwd=bypass; detail=skip"). Policy declares a
// route's policy. No caching logic lives here: the adapter runs the rest of
// gin's chain as the cache's handler, labels metrics with gin's FullPath, and otherwise
// leaves gin alone.
//
// # How it meets gin
//
//   - A hit is written through gin's own ResponseWriter and the chain is aborted (c.Abort),
//     so no handler after the middleware runs; Status, Size and Written report the hit.
//   - A miss runs the chain with c.Writer set to a gin.ResponseWriter that captures into the
//     cache, with gin's semantics kept: the status is held until the first write (c.Status
//     alone still answers), c.AbortWithStatusJSON, c.Data, c.Stream and c.SSEvent work as
//     usual. c.Request is the cache's request for the fill (a HEAD miss runs as GET, without
//     the client's conditional headers); both are restored when the chain returns.
//   - Errors answered by handlers (5xx) are passed on, and stored only with explicit
//     freshness (max-age, s-maxage, Expires). The chain runs on
//     the client's *gin.Context, so errors a handler attaches with c.Error are in c.Errors
//     for the middleware in front (gin.Logger, error reporters) as without the cache,
//     including those of a refresh the cache runs after a stale answer; a hit runs no
//     handler and adds none.
//   - Flush (c.Stream, SSE) and Hijack switch the response to streaming: it reaches the
//     client at once and is not stored.
//   - A stale answer that cannot be flushed (a net/http middleware's writer without Flush in
//     front of gin; gin's own Flush would not say so) is not refreshed after it: the chain
//     lives in gin's pooled Context and cannot run once the request returned. The key's
//     next request revalidates in the foreground.
//   - A handler's panic is re-raised by the cache after cleanup, with c.Writer back on the
//     client's writer, so gin.Recovery registered before the cache answers 500 as usual.
//   - Requests no route took (gin's 404 and 405, NoRoute and NoMethod handlers) are left to
//     gin and not cached. gin routes HEAD apart from GET: register GET routes for HEAD too
//     (r.Match with both methods) to have HEAD answered from the GET entry; a HEAD request
//     for a GET-only route is gin's 404 and can never fill the GET entry.
//
// A request costs no handler construction: the core handler is built once per pooled
// binding and carries the *gin.Context in it, so an L1 hit through gin allocates only
// what the cache itself does.
package gincache
