// Package echocache exposes Strata's cache as echo v5 middleware
// (github.com/labstack/echo/v5). The package name and API are those of the echo v4 adapter
// (adapters/echo), so only the import path and echo's own v5 signatures change.
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
// pass the cache by ("fwd=bypass; detail=skip"). Policy declares a route's policy. No
// caching logic lives here: the adapter runs the rest of echo's chain as the cache's handler,
// labels metrics with echo's route path (c.Path()), and otherwise leaves echo alone.
//
// # How it meets echo
//
//   - A hit is written through c.Response(), so the echo.Response's Status, Size and
//     Committed describe it, the Before and After hooks of middleware in front run as for
//     any answer, and a writer middleware in front (middleware.Gzip) wraps it as it wraps a
//     miss. The rest of the chain does not run.
//   - A miss runs the chain with c.Request() set to the cache's request for the fill (a HEAD
//     miss runs as GET, without the client's conditional headers) and c.Response() set to an
//     echo.Response of its own that writes into the cache. Hooks registered inside the chain
//     run as the handler writes; the request's own Response then carries the cache's answer.
//     Both are restored when the chain returns or panics.
//   - An error returned by the chain is answered by e.HTTPErrorHandler right there, into the
//     cache: echo.NewHTTPError(503, …) is answered 503 and never stored, echo.ErrNotFound
//     is negatively cached like any 404. The middleware then returns the same error, so
//     request loggers, error reporters and tracing in front see it as without the cache. The
//     request's Response is committed by then, so echo's DefaultHTTPErrorHandler, called with
//     the error at the top, does not answer it twice: the contract of echo v5's own
//     middleware.RequestLogger with HandleError, which also answers an error and returns it (a
//     custom HTTPErrorHandler must return early for a committed Response, as the default
//     does). Errors of every handler run the request made are returned, including a refresh
//     after a stale answer (stale-while-revalidate) and a failure answered from a stale entry
//     (stale-if-error); a hit runs no handler and returns nil.
//   - Flushing (http.NewResponseController(c.Response()).Flush, c.Stream with a flushing
//     reader) and hijacking switch the response to streaming: it reaches the client at once
//     and is not stored.
//   - A handler's panic is re-raised by the cache after cleanup, so middleware.Recover in
//     front answers 500 as usual.
//   - echo routes HEAD apart from GET: register GET routes for HEAD too (e.Match with both
//     methods) to have HEAD answered from the GET entry. A HEAD request echo routed
//     elsewhere is left to echo: one it answers 405 or 404, and one RouterConfig's
//     AutoHandleHEAD sends to a GET route (its wrapper discards the body, which the cache
//     would store as the GET entry).
//   - Query parameters left out of the key (a policy's IgnoreQuery, Config.IgnoreQuery) are
//     kept from the handler in the query values echo's Context parses once and keeps
//     (c.QueryParam, c.QueryParams, Bind; c.SetRequest does not reset them), not only in
//     c.Request(): a middleware in front that parsed the query first would otherwise hand
//     them to the handler, whose answer is stored under the key without them. The middleware
//     in front gets the request and its query values back when the chain returns.
//
// echo v5 compiles its middleware chain once; a request costs no handler construction here
// either: the core handler is built once per pooled binding.
package echocache
