package echocache_test

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	echocache "github.com/strata-cache/strata/adapters/echov5"
	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
	"github.com/strata-cache/strata/negative"
)

func newCache(t testing.TB, cfg core.Config) *core.Cache {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Jitter, cfg.Beta = -1, -1
	if cfg.Clock == nil {
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		cfg.Clock = func() time.Time { return now }
	}
	c, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// quietEcho is echo.New with its logger discarded.
func quietEcho() *echo.Echo {
	e := echo.New()
	e.Logger = slog.New(slog.DiscardHandler)
	return e
}

func do(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for _, kv := range hdr {
		k, v, _ := strings.Cut(kv, ":")
		r.Header.Add(k, strings.TrimSpace(v))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func wantStatus(t *testing.T, w *httptest.ResponseRecorder, code int) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("status: got %d, want %d (Cache-Status %q, body %q)", w.Code, code, w.Header().Get("Cache-Status"), w.Body.String())
	}
}

func wantCacheStatus(t *testing.T, w *httptest.ResponseRecorder, want string) {
	t.Helper()
	if got := w.Header().Get("Cache-Status"); got != want {
		t.Fatalf("Cache-Status: got %q, want %q", got, want)
	}
}

func notHit(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if cs := w.Header().Get("Cache-Status"); strings.Contains(cs, "; hit") || strings.Contains(cs, "stored") {
		t.Fatalf("Cache-Status %q: want neither a hit nor stored", cs)
	}
}

// response is the echo.Response under c.Response().
func response(t testing.TB, c *echo.Context) *echo.Response {
	res, err := echo.UnwrapResponse(c.Response())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var public = headers.Public(time.Minute)

// A returned echo.NewHTTPError(503) is answered 503 by the HTTPErrorHandler, inside the
// cache: never stored as an empty 200, never served from the cache. The middleware in front
// gets the very error the handler returned, and echo's error handler, called with it at the
// top, does not answer it again.
func TestHTTPErrorNeverStored(t *testing.T) {
	e := newEcho(newCache(t, core.Config{}))
	var outerErr []error
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			err := next(c)
			outerErr = append(outerErr, err)
			return err
		}
	})
	handled := 0
	def := echo.DefaultHTTPErrorHandler(false)
	e.HTTPErrorHandler = func(c *echo.Context, err error) {
		handled++
		def(c, err)
	}
	var runs atomic.Int64
	busy := echo.NewHTTPError(http.StatusServiceUnavailable, "busy")
	e.GET("/busy", func(c *echo.Context) error {
		runs.Add(1)
		return busy
	}, echocache.Policy(public))
	for i := 1; i <= 3; i++ {
		w := do(e, "GET", "/busy")
		wantStatus(t, w, 503)
		notHit(t, w)
		if cs := w.Header().Get("Cache-Status"); !strings.Contains(cs, "fwd-status=503") || !strings.Contains(cs, "detail=status") {
			t.Fatalf("Cache-Status %q", cs)
		}
		if got := w.Body.String(); got != `{"message":"busy"}`+"\n" {
			t.Fatalf("body %q: want the error answered once", got)
		}
		if got := runs.Load(); got != int64(i) {
			t.Fatalf("runs: got %d, want %d", got, i)
		}
	}
	if len(outerErr) != 3 {
		t.Fatalf("the middleware in front ran %d times, want 3", len(outerErr))
	}
	for i, err := range outerErr {
		if err != busy {
			t.Fatalf("request %d: the middleware in front got %v, want the handler's error", i+1, err)
		}
	}
	// Inside the cache (answers) and at the top (the Response is committed: no answer).
	if handled != 6 {
		t.Fatalf("HTTPErrorHandler ran %d times, want 6 (twice a request)", handled)
	}
}

// A returned echo.ErrNotFound is a 404 like any other: negatively cached on a route with a
// policy. The hit runs no handler, so the middleware in front gets no error for it.
func TestNotFoundErrorNegativelyCached(t *testing.T) {
	e := newEcho(newCache(t, core.Config{}))
	var last error
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			last = next(c)
			return last
		}
	})
	var runs atomic.Int64
	e.GET("/items/:id", func(c *echo.Context) error {
		runs.Add(1)
		return echo.ErrNotFound
	}, echocache.Policy(headers.Public(time.Minute)))
	w := do(e, "GET", "/items/999")
	wantStatus(t, w, 404)
	wantCacheStatus(t, w, "strata; fwd=uri-miss; ttl=10; stored")
	if last != echo.ErrNotFound {
		t.Fatalf("miss: the middleware in front got %v", last)
	}
	w = do(e, "GET", "/items/999")
	wantStatus(t, w, 404)
	wantCacheStatus(t, w, "strata; hit; ttl=10; detail=negative")
	if got := strings.TrimSpace(w.Body.String()); got != `{"message":"Not Found"}` || runs.Load() != 1 {
		t.Fatalf("body %q after %d runs", got, runs.Load())
	}
	if last != nil {
		t.Fatalf("hit: the middleware in front got %v, want nil", last)
	}
}

// The errors of a handler run the cache makes for a stale entry reach the middleware in
// front too: a failure answered from the stale entry (stale-if-error), and a failed refresh
// after a stale answer (stale-while-revalidate). A hit runs no handler and returns nil.
func TestErrorOfStaleRunsReturned(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := newEcho(newCache(t, core.Config{Clock: clock}))
	var last error
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			last = next(c)
			return last
		}
	})
	down := errors.New("database down")
	var fail atomic.Bool
	handler := func(c *echo.Context) error {
		if fail.Load() {
			return down
		}
		return c.String(200, "fresh")
	}
	e.GET("/sie", handler, echocache.Policy(headers.Public(time.Second).StaleIfError(time.Hour)))
	e.GET("/swr", handler, echocache.Policy(headers.Public(time.Second).StaleWhileRevalidate(time.Hour)))
	for _, path := range []string{"/sie", "/swr"} {
		fail.Store(false)
		do(e, "GET", path)
		w := do(e, "GET", path)
		wantCacheStatus(t, w, "strata; hit; ttl=1")
		if last != nil {
			t.Fatalf("%s hit: the middleware in front got %v, want nil", path, last)
		}
		fail.Store(true)
		advance(5 * time.Second)
		w = do(e, "GET", path)
		wantStatus(t, w, 200)
		if w.Body.String() != "fresh" || !strings.Contains(w.Header().Get("Cache-Status"), "detail=stale-") {
			t.Fatalf("%s: %q %q, want the stale answer", path, w.Body.String(), w.Header().Get("Cache-Status"))
		}
		if last != down {
			t.Fatalf("%s: the middleware in front got %v, want the handler's error", path, last)
		}
	}
}

// A handler's panic is re-raised by the cache after cleanup and answered 500 by echo's
// middleware.Recover in front, on the client's Response; nothing is stored, and a logger in
// front of Recover sees the 500 and the panic as an error.
func TestPanicReachesRecover(t *testing.T) {
	c := newCache(t, core.Config{})
	e := quietEcho()
	type seen struct {
		status int
		err    error
	}
	var last seen
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus:   true,
		HandleError: true,
		LogValuesFunc: func(c *echo.Context, v middleware.RequestLoggerValues) error {
			last = seen{v.Status, v.Error}
			return nil
		},
	}), middleware.Recover(), echocache.Middleware(c))
	var runs atomic.Int64
	e.GET("/boom", func(c *echo.Context) error {
		if runs.Add(1) == 1 {
			panic("boom")
		}
		return c.String(200, "ok")
	}, echocache.Policy(public))
	w := do(e, "GET", "/boom")
	wantStatus(t, w, 500)
	if got := w.Body.String(); got != `{"message":"Internal Server Error"}`+"\n" {
		t.Fatalf("body %q", got)
	}
	if last.status != 500 || last.err == nil || !strings.Contains(last.err.Error(), "boom") {
		t.Fatalf("seen in front of Recover: %d %v", last.status, last.err)
	}
	w = do(e, "GET", "/boom")
	wantStatus(t, w, 200)
	wantCacheStatus(t, w, "strata; fwd=uri-miss; ttl=60; stored")
	if runs.Load() != 2 || last != (seen{200, nil}) {
		t.Fatalf("after the panic: %d runs, seen %+v", runs.Load(), last)
	}
}

// A hit is written through the request's echo.Response: middleware in front sees its
// status, size and Committed, and its Before hook runs once per answer.
func TestHitThroughResponse(t *testing.T) {
	c := newCache(t, core.Config{})
	e := quietEcho()
	type seen struct {
		status    int
		size      int64
		committed bool
		befores   int
	}
	var last seen
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			n := 0
			res := response(t, c)
			res.Before(func() {
				n++
				res.Header().Set("X-Request-Id", "per-request")
			})
			err := next(c)
			if c.Response() != res {
				t.Errorf("c.Response() not restored: %T", c.Response())
			}
			last = seen{res.Status, res.Size, res.Committed, n}
			return err
		}
	}, echocache.Middleware(c))
	var runs atomic.Int64
	e.GET("/p", func(c *echo.Context) error {
		runs.Add(1)
		return c.Blob(http.StatusCreated, "application/json", []byte(`{"id":1}`))
	}, echocache.Policy(public))

	w := do(e, "GET", "/p")
	wantStatus(t, w, 201)
	wantCacheStatus(t, w, "strata; fwd=uri-miss; ttl=60; stored")
	if last != (seen{201, 8, true, 1}) {
		t.Fatalf("miss seen in front: %+v", last)
	}
	w = do(e, "GET", "/p")
	wantStatus(t, w, 201)
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	if last != (seen{201, 8, true, 1}) {
		t.Fatalf("hit seen in front: %+v", last)
	}
	if w.Body.String() != `{"id":1}` || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("X-Request-Id") != "per-request" {
		t.Fatalf("hit: %q %v", w.Body.String(), w.Header())
	}
	if runs.Load() != 1 {
		t.Fatalf("runs: %d", runs.Load())
	}
}

// A hook of the middleware in front is not captured into the stored response.
func TestOuterHookNotStored(t *testing.T) {
	c := newCache(t, core.Config{})
	e := quietEcho()
	n := 0
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			n++
			id := strings.Repeat("r", n)
			res := response(t, c)
			res.Before(func() { res.Header().Set("X-Request-Id", id) })
			return next(c)
		}
	}, echocache.Middleware(c))
	e.GET("/rid", func(c *echo.Context) error { return c.String(200, "x") }, echocache.Policy(public))
	do(e, "GET", "/rid")
	w := do(e, "GET", "/rid")
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	if got := w.Header().Get("X-Request-Id"); got != "rr" {
		t.Fatalf("X-Request-Id: got %q, want this request's %q", got, "rr")
	}
}

// A writer middleware in front of the cache (echo's Gzip, which replaces c.Response()) wraps
// hits as it wraps misses: the cache writes through c.Response(), not under it.
func TestGzipInFront(t *testing.T) {
	c := newCache(t, core.Config{})
	e := quietEcho()
	e.Use(middleware.Gzip(), echocache.Middleware(c))
	body := strings.Repeat("compressible ", 100)
	e.GET("/big", func(c *echo.Context) error { return c.String(200, body) }, echocache.Policy(public))
	for i, want := range []string{"strata; fwd=uri-miss; ttl=60; stored", "strata; hit; ttl=60"} {
		w := do(e, "GET", "/big", "Accept-Encoding: gzip")
		wantStatus(t, w, 200)
		wantCacheStatus(t, w, want)
		if w.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("request %d: Content-Encoding %q", i+1, w.Header().Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(w.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || string(got) != body {
			t.Fatalf("request %d: %d bytes, %v", i+1, len(got), err)
		}
	}
}

// Flushing streams the response to the client as it is written; it is not stored.
func TestFlushStreamsUnstored(t *testing.T) {
	e := newEcho(newCache(t, core.Config{}))
	release := make(chan struct{})
	var runs atomic.Int64
	e.GET("/events", func(c *echo.Context) error {
		n := runs.Add(1)
		res := c.Response()
		res.Header().Set("Content-Type", "text/event-stream")
		res.WriteHeader(http.StatusOK)
		for i := 1; i <= 3; i++ {
			if i == 2 && n == 1 {
				<-release // the client must have the first event before the handler goes on
			}
			if _, err := io.WriteString(res, "data: tick\n\n"); err != nil {
				return err
			}
			if err := http.NewResponseController(res).Flush(); err != nil {
				return err
			}
		}
		return nil
	}, echocache.Policy(public))
	srv := httptest.NewServer(e)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "data: tick\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	_ = resp.Body.Close()
	if got := strings.Count(string(rest), "data: tick"); got != 2 {
		t.Fatalf("rest %q", rest)
	}
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "detail=streamed") {
		t.Fatalf("Cache-Status %q", cs)
	}
	if got := resp.Header.Get("Cache-Control"); got != public.CacheControl() {
		t.Fatalf("Cache-Control %q", got)
	}
	w := do(e, "GET", "/events")
	notHit(t, w)
	if !w.Flushed || runs.Load() != 2 {
		t.Fatalf("second: flushed %v, runs %d", w.Flushed, runs.Load())
	}
}

// echo answers HEAD for a GET-only route with 405: that answer must never fill the GET
// entry, even where 405 is negatively cached.
func TestHeadWithoutRouteLeftToEcho(t *testing.T) {
	e := newEcho(newCache(t, core.Config{Negative: negative.Rules{Statuses: []int{404, 405, 410}}}))
	e.GET("/only-get", func(c *echo.Context) error {
		c.Response().Header().Set("Cache-Control", "max-age=60")
		return c.String(200, "here")
	})
	w := do(e, "HEAD", "/only-get")
	wantStatus(t, w, 405)
	wantCacheStatus(t, w, "")
	w = do(e, "GET", "/only-get")
	wantStatus(t, w, 200)
	wantCacheStatus(t, w, "strata; fwd=uri-miss; ttl=60; stored")
}

// With the router's AutoHandleHEAD, echo v5 answers HEAD with the GET route's handler
// wrapped to discard the body. Run as the cache's GET fill, that would store an empty body:
// such a HEAD is left to echo, and the GET entry is filled by a GET.
func TestAutoHandleHEADLeftToEcho(t *testing.T) {
	c := newCache(t, core.Config{})
	e := echo.NewWithConfig(echo.Config{
		Logger: slog.New(slog.DiscardHandler),
		Router: echo.NewRouter(echo.RouterConfig{AutoHandleHEAD: true}),
	})
	e.Use(middleware.Recover(), echocache.Middleware(c))
	var runs atomic.Int64
	e.GET("/auto", func(c *echo.Context) error {
		runs.Add(1)
		return c.String(200, "the body")
	}, echocache.Policy(public))
	w := do(e, "HEAD", "/auto")
	wantStatus(t, w, 200)
	wantCacheStatus(t, w, "")
	if w.Body.Len() != 0 || w.Header().Get("Content-Length") != "8" {
		t.Fatalf("HEAD: body %q, Content-Length %q", w.Body.String(), w.Header().Get("Content-Length"))
	}
	w = do(e, "GET", "/auto")
	wantCacheStatus(t, w, "strata; fwd=uri-miss; ttl=60; stored")
	w = do(e, "GET", "/auto")
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	if w.Body.String() != "the body" || runs.Load() != 2 {
		t.Fatalf("GET: %q after %d runs", w.Body.String(), runs.Load())
	}
}

// A HEAD miss on a route registered for GET and HEAD fills the GET entry; the middleware in
// front still sees the client's HEAD request afterwards.
func TestHeadFillsGet(t *testing.T) {
	c := newCache(t, core.Config{})
	e := quietEcho()
	var method string
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			err := next(c)
			method = c.Request().Method
			return err
		}
	}, echocache.Middleware(c))
	e.Match([]string{"GET", "HEAD"}, "/h", func(c *echo.Context) error {
		return c.String(200, "method="+c.Request().Method)
	}, echocache.Policy(public))
	w := do(e, "HEAD", "/h")
	wantStatus(t, w, 200)
	if w.Body.Len() != 0 || method != "HEAD" {
		t.Fatalf("HEAD: body %q, seen in front as %q", w.Body.String(), method)
	}
	w = do(e, "GET", "/h")
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	if w.Body.String() != "method=GET" {
		t.Fatalf("GET after HEAD: %q", w.Body.String())
	}
	w = do(e, "HEAD", "/h")
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	if w.Body.Len() != 0 {
		t.Fatalf("HEAD hit: body %q", w.Body.String())
	}
}

// The route label given to the cache is echo's route path, on misses and hits.
func TestRouteLabel(t *testing.T) {
	obs := &observer{}
	e := newEcho(newCache(t, core.Config{Observer: obs}))
	e.GET("/items/:id", func(c *echo.Context) error { return c.String(200, "item "+c.Param("id")) }, echocache.Policy(public))
	do(e, "GET", "/items/7")
	wantCacheStatus(t, do(e, "GET", "/items/7"), "strata; hit; ttl=60")
	if got := obs.routes(); len(got) != 2 || got[0] != "/items/:id" || got[1] != "/items/:id" {
		t.Fatalf("routes: %q", got)
	}
}

// Policy without the cache middleware still sets the fields for the CDN and browser.
func TestPolicyWithoutCache(t *testing.T) {
	e := quietEcho()
	e.GET("/x", func(c *echo.Context) error { return c.String(200, "x") },
		echocache.Policy(headers.Public(10*time.Second).SMaxAge(time.Minute).Vary("Accept")))
	e.GET("/own", func(c *echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.String(200, "own")
	}, echocache.Policy(public))
	w := do(e, "GET", "/x")
	if got := w.Header().Get("Cache-Control"); got != "public, max-age=10, s-maxage=60" {
		t.Fatalf("Cache-Control %q", got)
	}
	if got := w.Header().Get("Vary"); got != "Accept" {
		t.Fatalf("Vary %q", got)
	}
	if got := do(e, "GET", "/own").Header().Get("Cache-Control"); got != "no-store" {
		t.Fatalf("handler's Cache-Control overridden: %q", got)
	}
}

// noUnwrap is a writer middleware whose writer does not unwrap to echo's Response.
func noUnwrap(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		c.SetResponse(struct{ http.ResponseWriter }{c.Response()})
		return next(c)
	}
}

// Without the cache, Policy sets the fields also through a c.Response() that does not
// unwrap to an echo.Response (it has no Before hook to use there).
func TestPolicyWithoutCacheOpaqueWriter(t *testing.T) {
	e := quietEcho()
	e.Use(noUnwrap)
	e.GET("/x", func(c *echo.Context) error { return c.String(200, "x") }, echocache.Policy(public))
	w := do(e, "GET", "/x")
	if got := w.Header().Get("Cache-Control"); got != public.CacheControl() || w.Body.String() != "x" {
		t.Fatalf("Cache-Control %q, body %q", got, w.Body.String())
	}
}

// Query parameters left out of the key (a route's IgnoreQuery, Config.IgnoreQuery) never
// reach the handler, also through the query values echo's Context parsed for a middleware in
// front (c.SetRequest does not reset them): an answer reflecting one would be stored under
// the clean key and served to everyone. The middleware in front gets the request and its
// query values back afterwards, whether it parsed them before or only after the route ran:
// the same as without Strata, where nothing is stripped.
func TestIgnoredQueryHiddenFromContext(t *testing.T) {
	type query struct {
		ID  string `query:"id"`
		UTM string `query:"utm_source"`
	}
	handler := func(c *echo.Context) error {
		var q query
		if err := c.Bind(&q); err != nil {
			return err
		}
		return c.String(200, "id="+q.ID+" utm="+q.UTM+" param="+c.QueryParam("utm_source")+
			" values="+c.QueryParams().Get("utm_source")+" url="+c.Request().URL.RawQuery)
	}
	for _, tc := range []struct {
		name        string
		cache       bool
		global      bool // Config.IgnoreQuery instead of the route's
		parseBefore bool // the middleware in front parses the query before the route
	}{
		{"route policy, parsed before", true, false, true},
		{"route policy, parsed after", true, false, false},
		{"Config.IgnoreQuery, parsed before", true, true, true},
		{"Config.IgnoreQuery, parsed after", true, true, false},
		{"no cache, parsed before", false, false, true},
		{"no cache, parsed after", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := quietEcho()
			var after, afterURL string
			e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c *echo.Context) error {
					if tc.parseBefore {
						_ = c.QueryParams()
					}
					err := next(c)
					after, afterURL = c.QueryParams().Get("utm_source"), c.Request().URL.RawQuery
					return err
				}
			})
			p := public.IgnoreQuery("utm_source")
			if tc.cache {
				cfg := core.Config{}
				if tc.global {
					cfg.IgnoreQuery, p = []string{"utm_source"}, public
				}
				e.Use(echocache.Middleware(newCache(t, cfg)))
			}
			e.GET("/campaign", handler, echocache.Policy(p))
			// The first fill (the route's policy strips), a hit, a fill the cache strips
			// (it knows the route's ignored parameters by then).
			for i, id := range []string{"1", "1", "2"} {
				target := "/campaign?id=" + id + "&utm_source=evil" + id
				w := do(e, "GET", target)
				if cs := w.Header().Get("Cache-Status"); tc.cache && strings.Contains(cs, "; hit") != (i == 1) {
					t.Fatalf("%s: Cache-Status %q", target, cs)
				}
				if got, want := w.Body.String(), "id="+id+" utm= param= values= url=id="+id; got != want {
					t.Fatalf("%s: the handler saw %q, want %q (Cache-Status %q)", target, got, want, w.Header().Get("Cache-Status"))
				}
				if after != "evil"+id || afterURL != "id="+id+"&utm_source=evil"+id {
					t.Fatalf("%s: the middleware in front got %q, %q back", target, after, afterURL)
				}
			}
		})
	}
}

// The Skipper passes the GET and HEAD requests it selects by the cache (core's skip: no
// lookup, no store, "fwd=bypass; detail=skip"), with the route's policy still applied; it is
// not asked about other methods, and a skipped-looking PUT still invalidates.
func TestSkipper(t *testing.T) {
	c := newCache(t, core.Config{})
	e := quietEcho()
	var mu sync.Mutex
	asked := map[string]int{}
	e.Use(middleware.Recover(), echocache.MiddlewareWithConfig(c, echocache.Config{
		Skipper: func(c *echo.Context) bool {
			mu.Lock()
			asked[c.Request().Method]++
			mu.Unlock()
			return c.Request().Header.Get("X-No-Cache") != ""
		},
	}))
	var runs atomic.Int64
	e.Match([]string{http.MethodGet, http.MethodHead}, "/s", func(c *echo.Context) error {
		return c.String(200, "run "+string(rune('0'+runs.Add(1))))
	}, echocache.Policy(public))
	e.PUT("/s", func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) })

	w := do(e, "GET", "/s", "X-No-Cache: 1")
	wantCacheStatus(t, w, "strata; fwd=bypass; detail=skip")
	if w.Body.String() != "run 1" || w.Header().Get("Cache-Control") != public.CacheControl() {
		t.Fatalf("skipped: %q, Cache-Control %q", w.Body.String(), w.Header().Get("Cache-Control"))
	}
	wantCacheStatus(t, do(e, "GET", "/s"), "strata; fwd=uri-miss; ttl=60; stored")
	wantCacheStatus(t, do(e, "GET", "/s"), "strata; hit; ttl=60")
	w = do(e, "GET", "/s", "X-No-Cache: 1")
	wantCacheStatus(t, w, "strata; fwd=bypass; detail=skip")
	if w.Body.String() != "run 3" {
		t.Fatalf("skipped after the fill: %q", w.Body.String())
	}
	wantCacheStatus(t, do(e, "HEAD", "/s", "X-No-Cache: 1"), "strata; fwd=bypass; detail=skip")
	w = do(e, "PUT", "/s", "X-No-Cache: 1")
	wantStatus(t, w, http.StatusNoContent)
	wantCacheStatus(t, w, "strata; fwd=method")
	wantCacheStatus(t, do(e, "GET", "/s"), "strata; fwd=uri-miss; ttl=60; stored") // the PUT invalidated
	if asked["PUT"] != 0 || asked["GET"] != 5 || asked["HEAD"] != 1 {
		t.Fatalf("Skipper asked about %v", asked)
	}
	// echo's own skippers have the same type.
	_ = echocache.Config{Skipper: middleware.DefaultSkipper}
}

// A background refresh (stale-while-revalidate) runs the echo chain after the stale answer,
// with echo's Context still valid.
func TestStaleWhileRevalidateRunsChain(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEcho(newCache(t, core.Config{Clock: clock}))
	var runs atomic.Int64
	e.GET("/s/:id", func(c *echo.Context) error {
		n := runs.Add(1)
		return c.String(200, c.Param("id")+"-"+string(rune('0'+n)))
	}, echocache.Policy(headers.Public(time.Second).StaleWhileRevalidate(time.Minute)))
	do(e, "GET", "/s/a")
	mu.Lock()
	now = now.Add(5 * time.Second)
	mu.Unlock()
	w := do(e, "GET", "/s/a")
	if w.Body.String() != "a-1" || !strings.Contains(w.Header().Get("Cache-Status"), "stale-while-revalidate") {
		t.Fatalf("stale answer: %q %q", w.Body.String(), w.Header().Get("Cache-Status"))
	}
	w = do(e, "GET", "/s/a")
	if w.Body.String() != "a-2" || runs.Load() != 2 {
		t.Fatalf("refreshed answer: %q after %d runs", w.Body.String(), runs.Load())
	}
}

// Hijack reaches the connection through echo's Response; nothing is stored.
func TestHijack(t *testing.T) {
	e := newEcho(newCache(t, core.Config{}))
	e.GET("/h", func(c *echo.Context) error {
		conn, brw, err := http.NewResponseController(c.Response()).Hijack()
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close() }()
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nCache-Control: max-age=60\r\nConnection: close\r\n\r\nhi")
		return brw.Flush()
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	for i := 0; i < 2; i++ {
		resp, err := http.Get(srv.URL + "/h")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if string(b) != "hi" || resp.Header.Get("Cache-Status") != "" {
			t.Fatalf("hijacked answer %d: %q, Cache-Status %q", i, b, resp.Header.Get("Cache-Status"))
		}
	}
}

type observer struct {
	mu sync.Mutex
	rs []string
}

func (o *observer) Request(e core.Event) {
	o.mu.Lock()
	o.rs = append(o.rs, e.Route)
	o.mu.Unlock()
}
func (o *observer) Store(string, core.Reason, bool) {}
func (o *observer) Error(core.TierName, core.Op)    {}
func (o *observer) Purge(core.PurgeKind, int)       {}
func (o *observer) Waiter(time.Duration, bool)      {}
func (o *observer) routes() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.rs...)
}

// noFlush is a client writer that cannot flush (a wrapper without Unwrap, say).
type noFlush struct{ http.ResponseWriter }

// The cache flushes a stale answer before refreshing it; on a writer that cannot flush that
// must not panic (echo's Response.Flush would), and the answer must not wait for the refresh:
// echo's chain is bound to its pooled Context, so the refresh is left to the next request,
// which revalidates in the foreground.
func TestStaleOnWriterThatCannotFlush(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEcho(newCache(t, core.Config{Clock: clock}))
	var runs atomic.Int64
	e.GET("/s", func(c *echo.Context) error {
		return c.String(200, fmt.Sprintf("s%d", runs.Add(1)))
	}, echocache.Policy(headers.Public(time.Second).StaleWhileRevalidate(time.Minute)))
	serve := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		e.ServeHTTP(noFlush{w}, httptest.NewRequest("GET", "/s", nil))
		return w
	}
	serve()
	mu.Lock()
	now = now.Add(5 * time.Second)
	mu.Unlock()
	w := serve()
	if w.Code != 200 || w.Body.String() != "s1" || w.Header().Get("Cache-Status") != "strata; hit; ttl=-4; detail=stale-while-revalidate" || runs.Load() != 1 {
		t.Fatalf("stale answer: %d %q %q after %d runs", w.Code, w.Body.String(), w.Header().Get("Cache-Status"), runs.Load())
	}
	w = serve()
	if w.Body.String() != "s2" || w.Header().Get("Cache-Status") != "strata; fwd=stale; ttl=1; stored" || runs.Load() != 2 {
		t.Fatalf("next request: %q %q after %d runs, want a foreground revalidation", w.Body.String(), w.Header().Get("Cache-Status"), runs.Load())
	}
}

// On a Context made without an Echo (echo.NewContext in a test, the middleware called
// directly), a returned error is answered with its status alone, and still returned.
func TestErrorWithoutEcho(t *testing.T) {
	mw := echocache.Middleware(newCache(t, core.Config{}))
	h := mw(func(c *echo.Context) error { return echo.ErrServiceUnavailable })
	w := httptest.NewRecorder()
	c := echo.NewContext(httptest.NewRequest("GET", "/x", nil), w)
	if err := h(c); err != echo.ErrServiceUnavailable {
		t.Fatalf("returned %v", err)
	}
	wantStatus(t, w, 503)
	notHit(t, w)
}
