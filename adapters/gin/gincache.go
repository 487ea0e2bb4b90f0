package gincache

import (
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// Middleware returns gin middleware that caches responses through c. Register it on the
// engine or a group, after gin.Recovery:
//
//	r.Use(gin.Recovery(), gincache.Middleware(cache))
//
// It serves GET and HEAD from the cache, aborting the rest of the chain on a hit, and runs
// the chain for a miss with gin's writer capturing into the cache. It labels metrics with
// gin's FullPath. A handler's panic reaches gin's Recovery unchanged, after the cache has
// cleaned up.
func Middleware(c *core.Cache) gin.HandlerFunc {
	return MiddlewareWithConfig(c, Config{})
}

// Config configures [MiddlewareWithConfig].
type Config struct {
	// Skip, when it returns true for a GET or HEAD request, passes the request by the cache
	// to the rest of the chain: nothing is looked up or stored, and the response says
	// "Cache-Status: strata; fwd=bypass; detail=skip" (core.Config.Skip, per middleware). It
	// is not asked about other methods: they are never looked up or stored, and a successful
	// unsafe request still invalidates its URL, as the write changes what other requests
	// have cached. A route's Policy still sets the Cache-Control, CDN-Cache-Control and Vary
	// fields for the CDN and the browser. A gin.Skipper (gin.LoggerConfig's) can be assigned
	// to it. Default: skip nothing.
	Skip func(c *gin.Context) bool
}

// MiddlewareWithConfig is [Middleware] with a [Config], in the style of gin's
// LoggerWithConfig:
//
//	r.Use(gin.Recovery(), gincache.MiddlewareWithConfig(cache, gincache.Config{
//		Skip: func(c *gin.Context) bool { return strings.HasPrefix(c.FullPath(), "/admin/") },
//	}))
func MiddlewareWithConfig(c *core.Cache, config Config) gin.HandlerFunc {
	m := &middleware{cache: c, skip: config.Skip}
	m.pool.New = func() any { return m.newBinding() }
	return m.serve
}

// Policy returns per-route middleware that declares the route's cache policy:
//
//	r.GET("/products/:id", gincache.Policy(headers.Public(time.Minute)), getProduct)
//
// The policy sets the Cache-Control, CDN-Cache-Control and Vary fields the handler did not
// set itself, and hands its cache-only settings (tags, negative TTL) to the cache. Without
// the cache middleware in front, it still sets those fields for the CDN and the browser.
func Policy(p headers.Policy) gin.HandlerFunc {
	pm := core.PolicyMiddleware(p)
	return func(gc *gin.Context) {
		if in := gc.Request; len(p.IgnoredQuery()) > 0 {
			gc.Request = core.StripIgnoredQuery(in, p)
			defer func() { gc.Request = in }()
			defer hideQuery(gc, gc.Request, in)()
		}
		if r := gc.Request; core.WithPolicy(r, p) == r {
			gc.Next() // the cache in front has recorded the policy
			return
		}
		rw := new(responseWriter)
		pm(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runChain(gc, rw, w, r)
		})).ServeHTTP(gc.Writer, gc.Request)
	}
}

type middleware struct {
	cache *core.Cache
	skip  func(*gin.Context) bool
	pool  sync.Pool // *binding
}

// binding ties one core handler to one gin request at a time. Core's handler is built once
// per binding, with the binding itself as the next handler, so a request builds no handler
// and allocates nothing here: it takes a binding from the pool, points it at its
// *gin.Context, and puts it back.
type binding struct {
	h        http.Handler // core's handler in front of the binding
	gc       *gin.Context
	ran      bool // core ran the rest of the chain
	panicked bool // ... and it panicked
	w        responseWriter
	cw       clientWriter
	index    int8 // gin's position in the chain when the cache middleware ran
}

// clientWriter is gin's writer as the cache's client writer, with a flush that tells the
// truth: gin's own Flush does nothing, silently, when the writer under it cannot flush (an
// outer net/http middleware's wrapper), and the cache must know whether its stale answer has
// left before it refreshes the entry on the request's goroutine.
type clientWriter struct{ gin.ResponseWriter }

func (w *clientWriter) FlushError() error {
	u, ok := w.ResponseWriter.(interface{ Unwrap() http.ResponseWriter })
	if !ok {
		// A gin middleware's own wrapper (gzip, say): its Flush is trusted, as gin does.
		w.ResponseWriter.Flush()
		return nil
	}
	w.WriteHeaderNow() // what gin's Flush does first
	return http.NewResponseController(u.Unwrap()).Flush()
}

func (w *clientWriter) Flush() { _ = w.FlushError() }

// WriteHeader sends an informational status (103 Early Hints) to the net/http writer under
// gin's, which only records a status and would drop it (the final status then replaces it).
func (w *clientWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols && !w.Written() {
		if u, ok := w.ResponseWriter.(interface{ Unwrap() http.ResponseWriter }); ok {
			u.Unwrap().WriteHeader(code)
			return
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach gin's writer (Hijack, deadlines).
func (w *clientWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (m *middleware) newBinding() any {
	b := new(binding)
	opts := core.HandlerOptions{Route: b.route}
	if m.skip != nil {
		opts.Skip = func(*http.Request) bool { return m.skip(b.gc) }
		b.h = m.cache.Handler(b, opts)
	} else {
		b.h = m.cache.Handler(b, opts)
	}
	return b
}

func (b *binding) route(*http.Request) string { return b.gc.FullPath() }

func (m *middleware) serve(gc *gin.Context) {
	if gc.FullPath() == "" {
		// No route took the request: gin answers it with its 404 or 405 (and NoRoute or
		// NoMethod handlers). Leave it to gin. In particular gin routes HEAD apart from
		// GET, so a HEAD request for a GET-only route would otherwise be answered from
		// the GET entry, or fill it with gin's 404.
		gc.Next()
		return
	}
	b := m.pool.Get().(*binding)
	b.gc, b.ran, b.panicked, b.cw.ResponseWriter = gc, false, false, gc.Writer
	b.index = chainIndex(gc)
	b.h.ServeHTTP(&b.cw, gc.Request)
	ran, panicked := b.ran, b.panicked
	b.gc, b.cw.ResponseWriter = nil, nil
	m.pool.Put(b)
	if !ran || panicked {
		// Answered from the cache (or from a stale entry after the handler panicked):
		// nothing after this middleware may run.
		gc.Abort()
	}
}

// ServeHTTP is core's next handler: the rest of gin's chain, writing into core's writer.
func (b *binding) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.ran, b.panicked = true, true
	// Core may run the rest of the chain a second time for one request (it refetches when
	// a revalidation's 304 selects nothing stored, RFC 9111 §4.3.4): each run starts after
	// this middleware.
	setChainIndex(b.gc, b.index)
	runChain(b.gc, &b.w, w, r)
	b.panicked = false
}

// runChain runs the rest of gc's chain with the request r and gin's writer capturing into w,
// then restores gc's own request and writer, also when a handler panics, so that gin's
// Recovery, which runs before the cache, answers on the client's writer.
func runChain(gc *gin.Context, rw *responseWriter, w http.ResponseWriter, r *http.Request) {
	origW, origR := gc.Writer, gc.Request
	status := http.StatusOK
	if !origW.Written() {
		status = origW.Status() // what middleware in front set with c.Status stays the default
	}
	rw.reset(w, r, status)
	gc.Writer, gc.Request = rw, r
	restoreQuery := hideQuery(gc, r, origR) // the cache may have left ignored parameters out of r
	defer func() {
		gc.Writer, gc.Request = origW, origR
		restoreQuery()
		rw.release()
	}()
	gc.Next()
	// gin writes a status set without a body (c.Status(204)) once the chain is done.
	rw.WriteHeaderNow()
}
