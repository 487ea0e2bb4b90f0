package echocache

import (
	"net/http"
	"sync"

	"github.com/labstack/echo/v5"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// Config configures [MiddlewareWithConfig].
type Config struct {
	// Skipper, when it returns true for a GET or HEAD request, passes the request by the
	// cache to the rest of the chain: nothing is looked up or stored, and the response says
	// "Cache-Status: strata; fwd=bypass; detail=skip" (core.Config.Skip, per middleware). It
	// is not asked about other methods: they are never looked up or stored, and a successful
	// unsafe request still invalidates its URL, as the write changes what other requests
	// have cached. A route's Policy still sets the Cache-Control, CDN-Cache-Control and Vary
	// fields for the CDN and the browser. echo's middleware.Skipper and
	// middleware.DefaultSkipper can be assigned to it. Default: skip nothing.
	Skipper func(c *echo.Context) bool
}

// Middleware returns echo middleware that caches responses through c. Register it with
// e.Use, after middleware.Recover:
//
//	e.Use(middleware.Recover(), echocache.Middleware(cache))
//
// It serves GET and HEAD from the cache, writing a hit through c.Response() (so the
// echo.Response's Status, Size and Committed describe the hit), and runs the rest of the
// chain for a miss. An error returned by a handler is answered by echo's
// HTTPErrorHandler at once, inside the cache, so the cache sees its real status and never
// stores it as a 200; the error is then returned to the middleware in front (request
// loggers, error reporters, tracing), as without the cache, with the Response already
// committed, so echo's error handler does not answer it again: what echo's own
// middleware.RequestLogger does with HandleError. It labels metrics with echo's route path.
func Middleware(c *core.Cache) echo.MiddlewareFunc {
	return MiddlewareWithConfig(c, Config{})
}

// MiddlewareWithConfig is [Middleware] with a [Config]:
//
//	e.Use(echocache.MiddlewareWithConfig(cache, echocache.Config{
//		Skipper: func(c *echo.Context) bool { return strings.HasPrefix(c.Path(), "/admin") },
//	}))
func MiddlewareWithConfig(c *core.Cache, config Config) echo.MiddlewareFunc {
	m := &middleware{cache: c, skip: config.Skipper}
	m.pool.New = func() any { return m.newBinding() }
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ec *echo.Context) error { return m.serve(ec, next) }
	}
}

// Policy returns per-route middleware that declares the route's cache policy:
//
//	e.GET("/products/:id", getProduct, echocache.Policy(headers.Public(time.Minute)))
//
// The policy sets the Cache-Control, CDN-Cache-Control and Vary fields the handler did not
// set itself, and hands its cache-only settings (tags, negative TTL) to the cache. Without
// the cache middleware in front, it still sets those fields for the CDN and the browser.
//
// Query parameters the policy leaves out of the key (IgnoreQuery) do not reach the handler,
// through c.Request() or through c.QueryParam, c.QueryParams and Bind, even when middleware
// in front has read the query already; that middleware gets the request and its query
// values back when the route returns.
func Policy(p headers.Policy) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(ec *echo.Context) error {
			in := ec.Request()
			defer ec.SetRequest(in)
			r := core.StripIgnoredQuery(in, p)
			if r != in {
				ec.SetRequest(r)
				defer hideQuery(ec, r, in)()
			}
			if r2 := core.WithPolicy(r, p); r2 != r {
				// No cache in front: set the fields just before the status goes out.
				res, err := echo.UnwrapResponse(ec.Response())
				if err != nil {
					return policyThroughWriter(ec, p, next)
				}
				ec.SetRequest(r2)
				res.Before(func() {
					if res.Status >= 200 {
						p.Apply(res.Header())
					}
				})
			}
			return next(ec)
		}
	}
}

// hideQuery keeps echo's parsed query values in step with ec's request r, which lacks
// parameters of in (ignored ones, stripped out of the key): the Context parses the query
// once (c.QueryParams, Bind) and keeps it, and c.SetRequest does not reset it, so values
// parsed from in before would reach the handler. It removes from them the parameters r does
// not have, and returns the function that puts in's back, for the middleware in front.
func hideQuery(ec *echo.Context, r, in *http.Request) (restore func()) {
	q := ec.QueryParams() // parsed from in already, or now from r
	keep := r.URL.Query()
	for k := range q {
		if _, ok := keep[k]; !ok {
			delete(q, k)
		}
	}
	return func() {
		for k, v := range in.URL.Query() {
			if _, ok := q[k]; !ok {
				q[k] = v
			}
		}
	}
}

// policyThroughWriter runs next with the policy applied by core's PolicyMiddleware, for a
// c.Response() that does not unwrap to an echo.Response (no Before hook to use).
func policyThroughWriter(ec *echo.Context, p headers.Policy, next echo.HandlerFunc) (err error) {
	origReq, origRes := ec.Request(), ec.Response()
	defer func() {
		ec.SetRequest(origReq)
		ec.SetResponse(origRes)
	}()
	core.PolicyMiddleware(p)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ec.SetRequest(r)
		ec.SetResponse(w)
		err = next(ec)
	})).ServeHTTP(origRes, origReq)
	return err
}

type middleware struct {
	cache *core.Cache
	skip  func(*echo.Context) bool
	pool  sync.Pool // *binding
}

// binding ties one core handler to one echo request at a time: core's handler is built once
// per binding, with the binding as its next handler, and a request takes a binding from the
// pool and points it at its context and the rest of its chain.
type binding struct {
	h    http.Handler // core's handler in front of the binding
	ec   *echo.Context
	next echo.HandlerFunc
	w    clientWriter
	err  error // what the chain returned, answered already, for the middleware in front
}

// clientWriter is the request's c.Response() as the cache's writer: the cache writes through
// it, so the echo.Response's Status, Size, Committed and hooks, and any writer middleware in
// front wrapped around it (compression, say), see the answer. A flush the client's writer
// cannot do (the cache flushes a stale answer before refreshing it) is an error rather than
// echo.Response's panic.
type clientWriter struct{ http.ResponseWriter }

func (w *clientWriter) FlushError() error {
	rw := w.ResponseWriter
	for {
		r, ok := rw.(*echo.Response)
		if !ok {
			break
		}
		rw = r.ResponseWriter // its Flush panics where this reports http.ErrNotSupported
	}
	return http.NewResponseController(rw).Flush()
}

func (w *clientWriter) Flush() { _ = w.FlushError() }

func (w *clientWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (m *middleware) newBinding() any {
	b := new(binding)
	opts := core.HandlerOptions{Route: b.route}
	if m.skip != nil {
		opts.Skip = func(*http.Request) bool { return m.skip(b.ec) }
		b.h = m.cache.Handler(b, opts)
	} else {
		b.h = m.cache.Handler(b, opts)
	}
	return b
}

func (b *binding) route(*http.Request) string { return b.ec.Path() }

func (m *middleware) serve(ec *echo.Context, next echo.HandlerFunc) error {
	if ec.Request().Method == http.MethodHead {
		// echo routes HEAD apart from GET. The cache answers HEAD from the GET entry and
		// fills that entry by running the chain as GET, so it takes only a HEAD that echo
		// routed to a route registered for HEAD (or any method). Anything else is left to
		// echo: a 405 or 404 must not fill the GET entry, and a GET route's automatic HEAD
		// handler (RouterConfig.AutoHandleHEAD) discards the body it would store.
		if rm := ec.RouteInfo().Method; rm != http.MethodHead && rm != echo.RouteAny {
			return next(ec)
		}
	}
	b := m.pool.Get().(*binding)
	b.ec, b.next, b.w.ResponseWriter, b.err = ec, next, ec.Response(), nil
	b.h.ServeHTTP(&b.w, ec.Request())
	err := b.err
	b.ec, b.next, b.w.ResponseWriter, b.err = nil, nil, nil, nil
	m.pool.Put(b)
	// The error was answered into the cache, and the cache's answer went out through the
	// request's Response, which is committed now: echo's DefaultHTTPErrorHandler returns at
	// once for a committed Response, as it does after echo's RequestLogger with HandleError,
	// which also answers an error and returns it.
	return err
}

// ServeHTTP is core's next handler: the rest of echo's chain, with the fill's request and a
// Response of its own that writes into core's writer. The request's own Response is left
// for the cache's answer, so its Status, Size and Committed, and the Before and After hooks
// of the middleware in front, see the answer the client gets, once. Both are restored when
// the chain returns or panics, so middleware.Recover in front answers on the client's
// Response.
func (b *binding) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ec := b.ec
	origReq, origRes := ec.Request(), ec.Response()
	ec.SetRequest(r)
	ec.SetResponse(echo.NewResponse(w, ec.Logger()))
	defer func() {
		ec.SetRequest(origReq)
		ec.SetResponse(origRes)
	}()
	if r.URL.RawQuery != origReq.URL.RawQuery {
		// The cache left ignored query parameters (Config.IgnoreQuery, a route's
		// IgnoreQuery) out of the fill's request; out of echo's parsed query values too.
		defer hideQuery(ec, r, origReq)()
	}
	if err := b.next(ec); err != nil {
		// Answer the error here, into the cache's writer: its status (e.g. 503) is then
		// what the cache sees, and an error is never stored as an empty 200. The error
		// itself goes on to the middleware in front (see serve).
		answerError(ec, err)
		b.err = err
	}
}

// answerError answers err with the application's HTTPErrorHandler, as echo would at the top
// of the chain; without an Echo (a Context made by echo.NewContext), with its status alone.
func answerError(ec *echo.Context, err error) {
	if e := ec.Echo(); e != nil && e.HTTPErrorHandler != nil {
		e.HTTPErrorHandler(ec, err)
		return
	}
	if res, status := echo.ResolveResponseStatus(ec.Response(), err); res == nil || !res.Committed {
		ec.Response().WriteHeader(status)
	}
}
