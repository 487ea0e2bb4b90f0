package gincache_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	gincache "github.com/strata-cache/strata/adapters/gin"
	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
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

func newEngine(c *core.Cache) *gin.Engine {
	r := gin.New()
	r.Use(gin.RecoveryWithWriter(io.Discard), gincache.Middleware(c))
	return r
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

// A handler that aborts with a 500 JSON answer is passed on, never stored, never replayed.
func TestAbortWithStatusJSONNeverStored(t *testing.T) {
	r := newEngine(newCache(t, core.Config{}))
	var runs atomic.Int64
	r.GET("/fail", gincache.Policy(public), func(c *gin.Context) {
		runs.Add(1)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "database down"})
	}, func(c *gin.Context) {
		t.Error("a handler after Abort ran")
	})
	for i := 1; i <= 3; i++ {
		w := do(r, "GET", "/fail")
		wantStatus(t, w, 500)
		notHit(t, w)
		if !strings.Contains(w.Body.String(), "database down") {
			t.Fatalf("body %q", w.Body.String())
		}
		if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
			t.Fatalf("Content-Type %q", got)
		}
		if got := runs.Load(); got != int64(i) {
			t.Fatalf("runs: got %d, want %d", got, i)
		}
	}
}

// gin's c.Stream (flushing after every step) and c.SSEvent reach the client as they are
// written, and the response is not stored.
func TestStreamAndSSEUnstored(t *testing.T) {
	r := newEngine(newCache(t, core.Config{}))
	release := make(chan struct{})
	var runs atomic.Int64
	r.GET("/events", gincache.Policy(public), func(c *gin.Context) {
		n := runs.Add(1)
		c.Header("Content-Type", "text/event-stream")
		step := 0
		c.Stream(func(w io.Writer) bool {
			step++
			if step == 2 && n == 1 {
				<-release // the client must have the first event before the handler goes on
			}
			c.SSEvent("tick", step)
			return step < 3
		})
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if first != "event:tick\n" {
		t.Fatalf("first line %q", first)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	_ = resp.Body.Close()
	if got := strings.Count(first+string(rest), "event:tick"); got != 3 {
		t.Fatalf("%d events in %q", got, first+string(rest))
	}
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "detail=streamed") {
		t.Fatalf("Cache-Status %q", cs)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
		t.Fatalf("Cache-Control: got %q, want SSE's own no-cache (the handler's word wins over the policy)", got)
	}

	w := do(r, "GET", "/events")
	if !w.Flushed || strings.Count(w.Body.String(), "event:tick") != 3 {
		t.Fatalf("second stream: flushed %v, body %q", w.Flushed, w.Body.String())
	}
	notHit(t, w)
	if runs.Load() != 2 {
		t.Fatalf("runs: got %d, want 2", runs.Load())
	}
}

// On a hit the chain after the cache does not run, and middleware in front sees the
// answer through gin's writer.
func TestHitAbortsChainAndReportsThroughWriter(t *testing.T) {
	c := newCache(t, core.Config{})
	r := gin.New()
	type seen struct {
		status, size int
		written      bool
		aborted      bool
		method       string
	}
	var last seen
	r.Use(gin.RecoveryWithWriter(io.Discard), func(c *gin.Context) {
		c.Next()
		last = seen{c.Writer.Status(), c.Writer.Size(), c.Writer.Written(), c.IsAborted(), c.Request.Method}
	}, gincache.Middleware(c))
	var inner, runs atomic.Int64
	r.Match([]string{"GET", "HEAD"}, "/p", gincache.Policy(public), func(c *gin.Context) {
		inner.Add(1)
		c.Next()
	}, func(c *gin.Context) {
		runs.Add(1)
		c.Data(http.StatusCreated, "application/json", []byte(`{"id":1}`))
	})

	w := do(r, "GET", "/p")
	wantStatus(t, w, 201)
	wantCacheStatus(t, w, "strata; fwd=uri-miss; ttl=60; stored")
	if last != (seen{201, 8, true, false, "GET"}) {
		t.Fatalf("miss seen by outer middleware: %+v", last)
	}
	w = do(r, "GET", "/p")
	wantStatus(t, w, 201)
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	if w.Body.String() != `{"id":1}` || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("hit: %q %q", w.Body.String(), w.Header().Get("Content-Type"))
	}
	if last != (seen{201, 8, true, true, "GET"}) {
		t.Fatalf("hit seen by outer middleware: %+v", last)
	}
	w = do(r, "HEAD", "/p")
	wantStatus(t, w, 201)
	if w.Body.Len() != 0 || last.method != "HEAD" {
		t.Fatalf("HEAD hit: body %q, outer saw method %q", w.Body.String(), last.method)
	}
	if inner.Load() != 1 || runs.Load() != 1 {
		t.Fatalf("chain ran %d/%d times, want 1/1", inner.Load(), runs.Load())
	}
}

// The request the outer middleware sees after a HEAD miss is still the client's HEAD, and
// c.Errors set by a handler survive.
func TestRequestAndErrorsRestored(t *testing.T) {
	c := newCache(t, core.Config{})
	r := gin.New()
	var method string
	var errs int
	r.Use(func(c *gin.Context) {
		c.Next()
		method, errs = c.Request.Method, len(c.Errors)
	}, gincache.Middleware(c))
	r.Match([]string{"GET", "HEAD"}, "/e", func(c *gin.Context) {
		_ = c.Error(errors.New("soft failure"))
		c.String(http.StatusServiceUnavailable, "try later")
	})
	w := do(r, "HEAD", "/e")
	wantStatus(t, w, 503)
	notHit(t, w)
	if method != "HEAD" || errs != 1 {
		t.Fatalf("outer middleware saw method %q and %d errors, want HEAD and 1", method, errs)
	}
}

// A status set with c.Status alone, and no body, is answered and stored as gin would send it.
func TestStatusWithoutBody(t *testing.T) {
	r := newEngine(newCache(t, core.Config{}))
	r.GET("/nc", func(c *gin.Context) {
		c.Header("Cache-Control", "max-age=60")
		c.Status(http.StatusNoContent)
	})
	wantStatus(t, do(r, "GET", "/nc"), 204)
	w := do(r, "GET", "/nc")
	wantStatus(t, w, 204)
	wantCacheStatus(t, w, "strata; hit; ttl=60")
}

// Requests no route took are left to gin: its 404 and 405 answers (with their bodies) are
// not cached, and a HEAD request for a GET-only route cannot fill the GET entry.
func TestUnroutedLeftToGin(t *testing.T) {
	r := newEngine(newCache(t, core.Config{}))
	r.HandleMethodNotAllowed = true
	r.GET("/only-get", func(c *gin.Context) {
		c.Header("Cache-Control", "max-age=60")
		c.String(200, "here")
	})
	w := do(r, "HEAD", "/only-get")
	wantStatus(t, w, 405)
	wantCacheStatus(t, w, "")
	w = do(r, "GET", "/only-get")
	wantStatus(t, w, 200)
	wantCacheStatus(t, w, "strata; fwd=uri-miss; ttl=60; stored")
	for i := 0; i < 2; i++ {
		w = do(r, "GET", "/nowhere")
		wantStatus(t, w, 404)
		wantCacheStatus(t, w, "")
		if w.Body.String() != "404 page not found" {
			t.Fatalf("gin's 404 body: got %q", w.Body.String())
		}
	}
}

// A status an outer middleware set before the cache stays the default, as in gin.
func TestOuterStatusKept(t *testing.T) {
	c := newCache(t, core.Config{})
	r := gin.New()
	r.Use(func(c *gin.Context) { c.Status(http.StatusAccepted) }, gincache.Middleware(c))
	r.GET("/s", func(c *gin.Context) {
		c.Header("Cache-Control", "max-age=60")
		_, _ = c.Writer.WriteString("queued")
	})
	wantStatus(t, do(r, "GET", "/s"), http.StatusAccepted)
	w := do(r, "GET", "/s")
	wantStatus(t, w, http.StatusAccepted)
	wantCacheStatus(t, w, "strata; hit; ttl=60")
}

// The route label given to the cache is gin's FullPath, on misses and hits.
func TestRouteLabel(t *testing.T) {
	obs := &observer{}
	r := newEngine(newCache(t, core.Config{Observer: obs}))
	r.GET("/items/:id", gincache.Policy(public), func(c *gin.Context) { c.String(200, "item "+c.Param("id")) })
	do(r, "GET", "/items/7")
	w := do(r, "GET", "/items/7")
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	if got := obs.routes(); len(got) != 2 || got[0] != "/items/:id" || got[1] != "/items/:id" {
		t.Fatalf("routes: %q", got)
	}
}

// Policy without the cache middleware still sets the fields for the CDN and browser.
func TestPolicyWithoutCache(t *testing.T) {
	r := gin.New()
	r.GET("/x", gincache.Policy(headers.Public(10*time.Second).SMaxAge(time.Minute).Vary("Accept")), func(c *gin.Context) {
		c.String(200, "x")
	})
	r.GET("/own", gincache.Policy(public), func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		c.String(200, "own")
	})
	w := do(r, "GET", "/x")
	if got := w.Header().Get("Cache-Control"); got != "public, max-age=10, s-maxage=60" {
		t.Fatalf("Cache-Control %q", got)
	}
	if got := w.Header().Get("Vary"); got != "Accept" {
		t.Fatalf("Vary %q", got)
	}
	if w.Header().Get("Cache-Status") != "" || w.Body.String() != "x" {
		t.Fatalf("unexpected answer %v %q", w.Header(), w.Body.String())
	}
	if got := do(r, "GET", "/own").Header().Get("Cache-Control"); got != "no-store" {
		t.Fatalf("handler's Cache-Control overridden: %q", got)
	}
}

// The writer handlers see keeps gin's contract.
func TestWriterContract(t *testing.T) {
	r := newEngine(newCache(t, core.Config{}))
	r.GET("/w", func(c *gin.Context) {
		w := c.Writer
		if w.Written() || w.Size() != -1 || w.Status() != 200 {
			t.Errorf("fresh writer: written %v size %d status %d", w.Written(), w.Size(), w.Status())
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.WriteHeader(http.StatusAccepted)
		w.WriteHeader(-1) // gin ignores non-positive codes (SSEvent renders with -1)
		if w.Written() || w.Status() != http.StatusAccepted {
			t.Errorf("after WriteHeader: written %v status %d", w.Written(), w.Status())
		}
		w.Header().Set("X-Late", "set before the first write still counts")
		if _, err := w.WriteString("abc"); err != nil {
			t.Error(err)
		}
		w.WriteHeader(http.StatusTeapot) // too late: ignored
		if !w.Written() || w.Size() != 3 || w.Status() != http.StatusAccepted {
			t.Errorf("after write: written %v size %d status %d", w.Written(), w.Size(), w.Status())
		}
		if w.Pusher() != nil {
			t.Error("Pusher on a recorder")
		}
		if _, _, err := w.Hijack(); err == nil {
			t.Error("Hijack after the body was written succeeded")
		}
		select {
		case <-w.CloseNotify():
			t.Error("CloseNotify fired while the client is there")
		default:
		}
	})
	do(r, "GET", "/w")
	w := do(r, "GET", "/w")
	wantStatus(t, w, http.StatusAccepted)
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	if w.Body.String() != "abc" || w.Header().Get("X-Late") == "" {
		t.Fatalf("hit: %q %v", w.Body.String(), w.Header())
	}
}

// CloseNotify fires when the client goes away (gin's c.Stream stops on it).
func TestCloseNotify(t *testing.T) {
	r := newEngine(newCache(t, core.Config{}))
	done := make(chan bool, 1)
	started := make(chan struct{})
	r.GET("/long", func(c *gin.Context) {
		close(started)
		select {
		case <-c.Writer.CloseNotify():
			done <- true
		case <-time.After(5 * time.Second):
			done <- false
		}
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/long", nil)
	go func() {
		<-started
		cancel() // the client goes away: the connection is closed
	}()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		_ = resp.Body.Close()
	}
	if !<-done {
		t.Fatal("CloseNotify did not fire when the client left")
	}
}

// Hijack through gin's writer reaches the connection; nothing is stored.
func TestHijack(t *testing.T) {
	r := newEngine(newCache(t, core.Config{}))
	r.GET("/h", func(c *gin.Context) {
		conn, brw, err := c.Writer.Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nCache-Control: max-age=60\r\nConnection: close\r\n\r\nhi")
		_ = brw.Flush()
	})
	srv := httptest.NewServer(r)
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

// A background refresh (stale-while-revalidate) runs the gin chain after the stale answer,
// with gin's Context still valid.
func TestStaleWhileRevalidateRunsChain(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := newEngine(newCache(t, core.Config{Clock: clock}))
	var runs atomic.Int64
	r.GET("/s/:id", gincache.Policy(headers.Public(time.Second).StaleWhileRevalidate(time.Minute)), func(c *gin.Context) {
		n := runs.Add(1)
		c.String(200, "%s-%d", c.Param("id"), n)
	})
	do(r, "GET", "/s/a")
	mu.Lock()
	now = now.Add(5 * time.Second)
	mu.Unlock()
	w := do(r, "GET", "/s/a")
	if w.Body.String() != "a-1" || !strings.Contains(w.Header().Get("Cache-Status"), "stale-while-revalidate") {
		t.Fatalf("stale answer: %q %q", w.Body.String(), w.Header().Get("Cache-Status"))
	}
	w = do(r, "GET", "/s/a")
	if w.Body.String() != "a-2" || runs.Load() != 2 {
		t.Fatalf("refreshed answer: %q after %d runs", w.Body.String(), runs.Load())
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

// noFlush is a client writer that cannot flush (a net/http middleware's wrapper without
// Flush or Unwrap): gin's own Flush silently does nothing on it.
type noFlush struct{ http.ResponseWriter }

// A stale answer that cannot be flushed is not held back by its refresh: gin's pooled Context
// cannot serve a refresh after the request returned, so the answer leaves at once and the
// next request revalidates in the foreground. (gin's Flush reports no error on such a
// writer; the adapter asks the writer under it.)
func TestStaleOnWriterThatCannotFlush(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := newEngine(newCache(t, core.Config{Clock: clock}))
	var runs atomic.Int64
	r.GET("/s", gincache.Policy(headers.Public(time.Second).StaleWhileRevalidate(time.Minute)), func(c *gin.Context) {
		c.String(200, "s%d", runs.Add(1))
	})
	serve := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r.ServeHTTP(noFlush{w}, httptest.NewRequest("GET", "/s", nil))
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
