// Package echocache exposes Strata's cache as echo (v4) middleware.
//
// # Setup
//
//	cache, err := core.New(core.Config{})
//	e := echo.New()
//	e.Use(middleware.Recover(), echocache.Middleware(cache))
//	e.GET("/products/:id", getProduct, echocache.Policy(headers.Public(10*time.Second).SMaxAge(time.Minute)))
//
// Middleware serves GET and HEAD from the cache and invalidates on successful unsafe requests.
// MiddlewareWithConfig takes echo's conventional Skipper: the GET and HEAD requests it selects
// pass the cache by ("fwd=bypass; detail=skip"). Policy declares a route's policy. No caching logic lives here: the adapter runs the rest of
// echo's chain as the cache's handler, labels metrics with echo's route path, and otherwise
// leaves echo alone.
//
// # How it meets echo
//
//   - A hit is written through the request's echo.Response, so Status, Size and Committed
//     describe it, and the Before and After hooks of middleware in front run as for any
//     answer. The rest of the chain does not run.
//   - A miss runs the chain with c.Request() set to the cache's request for the fill (a HEAD
//     miss runs as GET, without the client's conditional headers) and c.Response() set to a
//     Response of its own that writes into the cache. Hooks registered inside the chain run
//     as the handler writes; the request's own Response then carries the cache's answer.
//     Both are restored when the chain returns or panics.
//   - An error returned by the chain is answered by the HTTPErrorHandler right there, into
//     the cache: an echo.NewHTTPError(503) is answered 503 and never stored, a 404 error is
//     negatively cached like any 404. The middleware then returns the same error, so request
//     loggers, error reporters and tracing in front see it as without the cache. The
//     request's Response is committed by then, so echo's DefaultHTTPErrorHandler, called
//     with the error at the top, does not answer it twice (a custom HTTPErrorHandler must
//     return early on c.Response().Committed, as the default does: echo's RequestLogger with
//     HandleError does the same answer-and-return). Errors of every handler run the request
//     made are returned, including a refresh after a stale answer (stale-while-revalidate)
//     and a failure answered from a stale entry (stale-if-error); a hit runs no handler and
//     returns nil.
//   - Flush (c.Response().Flush, c.Stream with a flushing reader) and Hijack switch the
//     response to streaming: it reaches the client at once and is not stored.
//   - A stale answer that cannot be flushed (a writer without Flush in front of echo) is not
//     refreshed after it: the chain lives in echo's pooled Context and cannot run once the
//     request returned. The key's next request revalidates in the foreground.
//   - A handler's panic is re-raised by the cache after cleanup, so middleware.Recover in
//     front answers 500 as usual.
//   - echo routes HEAD apart from GET: register GET routes for HEAD too (e.Match with both
//     methods) to have HEAD answered from the GET entry. A HEAD request that echo would
//     answer 405 is left to echo, so it can never fill the GET entry.
//
// echo applies middleware per request; beyond the closure echo itself builds for each, a
// request costs no handler construction: the core handler is built once per pooled binding.
package echocache
