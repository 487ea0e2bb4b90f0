package echocache_test

import (
	"bufio"
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

	"github.com/labstack/echo/v4"

	echocache "github.com/strata-cache/strata/adapters/echo"
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

var public = headers.Public(time.Minute)

// A returned echo.NewHTTPError(503) is answered 503 by the HTTPErrorHandler, inside the
// cache: never stored as an empty 200, never served from the cache. The middleware in front
// gets the very error the handler returned, and echo's error handler, called with it at the
// top, does not answer it again.
func TestHTTPErrorNeverStored(t *testing.T) {
	e := newEcho(newCache(t, core.Config{}))
	var outerErr []error
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			outerErr = append(outerErr, err)
			return err
		}
	})
	handled := 0
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		handled++
		e.DefaultHTTPErrorHandler(err, c)
	}
	var runs atomic.Int64
	busy := echo.NewHTTPError(http.StatusServiceUnavailable, "busy")
	e.GET("/busy", func(c echo.Context) error {
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
		if got := strings.TrimSpace(w.Body.String()); got != `{"message":"busy"}` {
			t.Fatalf("body %q", got)
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
		return func(c echo.Context) error {
			last = next(c)
			return last
		}
	})
	down := errors.New("database down")
	var fail atomic.Bool
	handler := func(c echo.Context) error {
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

// A returned 404 error is a 404 like any other: negatively cached on a route with a policy.
func TestNotFoundErrorNegativelyCached(t *testing.T) {
	e := newEcho(newCache(t, core.Config{}))
	var runs atomic.Int64
	e.GET("/items/:id", func(c echo.Context) error {
		runs.Add(1)
		return echo.ErrNotFound
	}, echocache.Policy(headers.Public(time.Minute)))
	w := do(e, "GET", "/items/999")
	wantStatus(t, w, 404)
	wantCacheStatus(t, w, "strata; fwd=uri-miss; ttl=10; stored")
	w = do(e, "GET", "/items/999")
	wantStatus(t, w, 404)
	wantCacheStatus(t, w, "strata; hit; ttl=10; detail=negative")
	if got := strings.TrimSpace(w.Body.String()); got != `{"message":"Not Found"}` || runs.Load() != 1 {
		t.Fatalf("body %q after %d runs", got, runs.Load())
	}
}

// A hit is written through the request's echo.Response: middleware in front sees its
// status, size and Committed, and its Before hook runs once per answer.
func TestHitThroughResponse(t *testing.T) {
	c := newCache(t, core.Config{})
	e := echo.New()
	type seen struct {
		status    int
		size      int64
		committed bool
		befores   int
	}
	var last seen
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			n := 0
			c.Response().Before(func() {
				n++
				c.Response().Header().Set("X-Request-Id", "per-request")
			})
			err := next(c)
			res := c.Response()
			last = seen{res.Status, res.Size, res.Committed, n}
			return err
		}
	}, echocache.Middleware(c))
	var runs atomic.Int64
	e.GET("/p", func(c echo.Context) error {
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
	e := echo.New()
	n := 0
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			n++
			id := strings.Repeat("r", n)
			c.Response().Before(func() { c.Response().Header().Set("X-Request-Id", id) })
			return next(c)
		}
	}, echocache.Middleware(c))
	e.GET("/rid", func(c echo.Context) error { return c.String(200, "x") }, echocache.Policy(public))
	do(e, "GET", "/rid")
	w := do(e, "GET", "/rid")
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	if got := w.Header().Get("X-Request-Id"); got != "rr" {
		t.Fatalf("X-Request-Id: got %q, want this request's %q", got, "rr")
	}
}

// Flushing streams the response to the client as it is written; it is not stored.
func TestFlushStreamsUnstored(t *testing.T) {
	e := newEcho(newCache(t, core.Config{}))
	release := make(chan struct{})
	var runs atomic.Int64
	e.GET("/events", func(c echo.Context) error {
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
			res.Flush()
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
	e.GET("/only-get", func(c echo.Context) error {
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

// A HEAD miss on a route registered for GET and HEAD fills the GET entry; the middleware in
// front still sees the client's HEAD request afterwards.
func TestHeadFillsGet(t *testing.T) {
	c := newCache(t, core.Config{})
	e := echo.New()
	var method string
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			method = c.Request().Method
			return err
		}
	}, echocache.Middleware(c))
	e.Match([]string{"GET", "HEAD"}, "/h", func(c echo.Context) error {
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
}

// The route label given to the cache is echo's route path, on misses and hits.
func TestRouteLabel(t *testing.T) {
	obs := &observer{}
	e := newEcho(newCache(t, core.Config{Observer: obs}))
	e.GET("/items/:id", func(c echo.Context) error { return c.String(200, "item "+c.Param("id")) }, echocache.Policy(public))
	do(e, "GET", "/items/7")
	wantCacheStatus(t, do(e, "GET", "/items/7"), "strata; hit; ttl=60")
	if got := obs.routes(); len(got) != 2 || got[0] != "/items/:id" || got[1] != "/items/:id" {
		t.Fatalf("routes: %q", got)
	}
}

// Policy without the cache middleware still sets the fields for the CDN and browser.
func TestPolicyWithoutCache(t *testing.T) {
	e := echo.New()
	e.GET("/x", func(c echo.Context) error { return c.String(200, "x") },
		echocache.Policy(headers.Public(10*time.Second).SMaxAge(time.Minute).Vary("Accept")))
	e.GET("/own", func(c echo.Context) error {
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

// A background refresh (stale-while-revalidate) runs the echo chain after the stale answer,
// with echo's Context still valid.
func TestStaleWhileRevalidateRunsChain(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEcho(newCache(t, core.Config{Clock: clock}))
	var runs atomic.Int64
	e.GET("/s/:id", func(c echo.Context) error {
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
	e.GET("/h", func(c echo.Context) error {
		conn, brw, err := c.Response().Hijack()
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
// must not panic (echo's Response.Flush would), and must not hold the answer back: echo's
// pooled context cannot serve a refresh after the request returned, so the stale answer
// leaves at once and the next request revalidates in the foreground.
func TestStaleOnWriterThatCannotFlush(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEcho(newCache(t, core.Config{Clock: clock}))
	var runs atomic.Int64
	e.GET("/s", func(c echo.Context) error {
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
