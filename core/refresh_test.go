package core

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// noFlush is an outer middleware whose writer cannot flush (a wrapper without Flush or
// Unwrap, as many logging and metrics middlewares are): the answer leaves only when the
// handler returns.
func noFlush(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(struct{ http.ResponseWriter }{w}, r)
	})
}

// refreshOrigin answers "<path> v<n>" with a stale-while-revalidate policy. Every run after a
// path's first is a refresh: it blocks until release is closed, or for 1 s (the refresh
// "takes 1 s"), and records which came first and what request it got.
type refreshOrigin struct {
	release  chan struct{}
	mu       sync.Mutex
	runs     map[string]int
	timedOut []string // refreshes that were not released within 1 s
	reqs     []*http.Request
	ctxErrs  []error // the refresh request's context error when it was released
}

func newRefreshOrigin() *refreshOrigin {
	return &refreshOrigin{release: make(chan struct{}), runs: make(map[string]int)}
}

func (o *refreshOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.runs[r.URL.Path]++
	n := o.runs[r.URL.Path]
	o.mu.Unlock()
	if n > 1 {
		tm := time.NewTimer(time.Second)
		select {
		case <-o.release:
			tm.Stop()
		case <-tm.C:
			o.mu.Lock()
			o.timedOut = append(o.timedOut, r.URL.Path)
			o.mu.Unlock()
		}
		o.mu.Lock()
		o.reqs = append(o.reqs, r)
		o.ctxErrs = append(o.ctxErrs, r.Context().Err())
		o.mu.Unlock()
	}
	w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=30")
	_, _ = fmt.Fprintf(w, "%s v%d", r.URL.Path, n)
}

func (o *refreshOrigin) runsOf(path string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.runs[path]
}

// get sends a GET over a real connection and reads the whole answer.
func get(t *testing.T, client *http.Client, url string) (status string, text string, d time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	d = time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get("Cache-Status"), string(b), d
}

// Behind an outer middleware that cannot flush, a stale-while-revalidate answer is not held
// back by the refresh: the refresh runs detached, on a request the cache owns, and its entry
// is served afterwards. Each refresh blocks until the test releases it, which it does only
// once every client has its whole stale answer; a refresh that ran on the request's goroutine
// would hold its answer back for 1 s and be recorded as timed out.
func TestStaleAnswerNotHeldBehindNonFlushingMiddleware(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	o := newRefreshOrigin()
	srv := httptest.NewServer(noFlush(c.Middleware(o)))
	defer srv.Close()

	paths := []string{"/r0", "/r1", "/r2", "/r3", "/r4"}
	for _, p := range paths {
		if cs, b, _ := get(t, srv.Client(), srv.URL+p); b != p+" v1" || cs != "strata; fwd=uri-miss; ttl=1; stored" {
			t.Fatalf("%s: %q %q", p, cs, b)
		}
	}
	clk.Advance(5 * time.Second)
	lat := make([]time.Duration, len(paths))
	for i, p := range paths {
		cs, b, d := get(t, srv.Client(), srv.URL+p)
		if b != p+" v1" || cs != "strata; hit; ttl=-4; detail=stale-while-revalidate" {
			t.Fatalf("%s stale answer: %q %q", p, cs, b)
		}
		lat[i] = d
	}
	close(o.release) // every client has its answer: the refreshes may finish now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitRefreshes(ctx); err != nil {
		t.Fatalf("refreshes still running: %v", err)
	}
	o.mu.Lock()
	timedOut := o.timedOut
	o.mu.Unlock()
	if len(timedOut) > 0 {
		t.Fatalf("the stale answers of %q waited for their refresh", timedOut)
	}
	for _, p := range paths {
		if n := o.runsOf(p); n != 2 {
			t.Fatalf("%s: %d origin runs, want 2 (one refresh)", p, n)
		}
		if cs, b, _ := get(t, srv.Client(), srv.URL+p); b != p+" v2" || cs != "strata; hit; ttl=1" {
			t.Fatalf("%s after the refresh: %q %q", p, cs, b)
		}
	}
	slices.Sort(lat)
	t.Logf("stale answers behind a non-flushing middleware, refresh blocked (up to 1 s): min %v, median %v, max %v",
		lat[0], lat[len(lat)/2], lat[len(lat)-1])
	if lat[len(lat)/2] >= 50*time.Millisecond {
		t.Fatalf("median stale answer took %v, want under 50ms", lat[len(lat)/2])
	}
	// The refresh's request is the cache's own: not the client's, not cancelled when the
	// client's request ended, and it carries what the handler reads.
	for i, r := range o.reqs {
		if o.ctxErrs[i] != nil {
			t.Errorf("refresh %s: context ended with the client's request: %v", r.URL.Path, o.ctxErrs[i])
		}
		if r.Method != http.MethodGet || r.Host != srv.Listener.Addr().String() || r.RemoteAddr == "" ||
			r.Header.Get("User-Agent") == "" || r.RequestURI != r.URL.Path {
			t.Errorf("refresh request: %s %q host %q remote %q UA %q", r.Method, r.RequestURI, r.Host, r.RemoteAddr, r.Header.Get("User-Agent"))
		}
	}
}

// A handler that may not run detached (HandlerOptions without Detach: gin and echo) is not
// refreshed behind a writer that cannot flush; the stale answer still leaves at once, and the
// key's next request revalidates in the foreground.
func TestStaleRefreshLeftToNextRequestWhenNotDetachable(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	o := newRefreshOrigin()
	close(o.release) // a refresh would not block; none must run with the stale answer
	h := noFlush(c.Handler(o, HandlerOptions{}))
	serve := func() *httptest.ResponseRecorder { return do(t, h, "GET", "/f") }
	if w := serve(); body(w) != "/f v1" {
		t.Fatal(body(w))
	}
	clk.Advance(5 * time.Second)
	w := serve()
	wantCacheStatus(t, w, "strata; hit; ttl=-4; detail=stale-while-revalidate")
	if body(w) != "/f v1" || o.runsOf("/f") != 1 {
		t.Fatalf("stale answer %q after %d runs, want no refresh yet", body(w), o.runsOf("/f"))
	}
	w = serve()
	wantCacheStatus(t, w, "strata; fwd=stale; ttl=1; stored")
	if body(w) != "/f v2" || o.runsOf("/f") != 2 {
		t.Fatalf("next request: %q after %d runs, want a foreground revalidation", body(w), o.runsOf("/f"))
	}
	wantCacheStatus(t, serve(), "strata; hit; ttl=1")
	if c.refreshes.n != 0 {
		t.Fatal("a refresh goroutine was started")
	}
}

// A flushable answer is refreshed on the request's goroutine, after the flush: ServeHTTP
// returns with the entry refreshed, and no goroutine is started.
func TestStaleRefreshAfterFlushOnRequestGoroutine(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	o := newRefreshOrigin()
	close(o.release)
	h := c.Middleware(o)
	do(t, h, "GET", "/g")
	clk.Advance(5 * time.Second)
	w := do(t, h, "GET", "/g")
	if !w.Flushed || body(w) != "/g v1" || o.runsOf("/g") != 2 {
		t.Fatalf("flushed %v, body %q, runs %d", w.Flushed, body(w), o.runsOf("/g"))
	}
	wantCacheStatus(t, do(t, h, "GET", "/g"), "strata; hit; ttl=1")
}

// An early refresh (XFetch) of a fresh entry behind a writer that cannot flush runs detached
// too; without Detach it is skipped, and nothing is marked.
func TestEarlyRefreshBehindNonFlushingMiddleware(t *testing.T) {
	for _, detach := range []bool{true, false} {
		t.Run(fmt.Sprint("detach=", detach), func(t *testing.T) {
			var runs atomic.Int64
			slow := make(chan struct{})
			var held atomic.Bool
			var clk *clock
			origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if runs.Add(1) == 1 {
					clk.Advance(time.Second) // the fill takes 1 s: XFetch weighs it
				} else {
					tm := time.NewTimer(time.Second)
					select {
					case <-slow:
						tm.Stop()
					case <-tm.C:
						held.Store(true) // the client's answer waited for this refresh
					}
				}
				w.Header().Set("Cache-Control", "max-age=10")
				_, _ = fmt.Fprintf(w, "v%d", runs.Load())
			})
			var c *Cache
			c, clk = newTestCache(t, Config{Beta: 1, Rand: func() float64 { return 1e-300 }})
			o := HandlerOptions{}
			if detach {
				o.Detach = DetachAsIs
			}
			h := noFlush(c.Handler(origin, o))
			do(t, h, "GET", "/x")
			key := c.testKey("/x")
			clk.Advance(8 * time.Second) // the 1 s fill counts in the entry's age (RFC 9111 §4.2.3)
			w := do(t, h, "GET", "/x")
			wantCacheStatus(t, w, "strata; hit; ttl=1")
			close(slow)
			if err := c.WaitRefreshes(context.Background()); err != nil {
				t.Fatal(err)
			}
			want := int64(1)
			if detach {
				want = 2
			}
			if held.Load() {
				t.Fatal("the answer waited for the early refresh")
			}
			if runs.Load() != want {
				t.Fatalf("origin runs %d, want %d", runs.Load(), want)
			}
			if c.due.has(key, clk.Now().UnixNano()) {
				t.Fatal("an early refresh left a mark")
			}
		})
	}
}

// Close cancels a detached refresh in progress and waits for it: no goroutine outlives the
// cache, and no refresh starts after Close.
func TestCloseCancelsDetachedRefresh(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	var runs atomic.Int64
	started := make(chan struct{})
	var ctxErr error
	h := noFlush(c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) == 2 {
			close(started)
			<-r.Context().Done()
			ctxErr = r.Context().Err()
			return
		}
		publicHandler("max-age=1, stale-while-revalidate=30", "x")(w, r)
	})))
	do(t, h, "GET", "/c")
	clk.Advance(5 * time.Second)
	do(t, h, "GET", "/c")
	<-started
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if ctxErr != context.Canceled {
		t.Fatalf("refresh context after Close: %v", ctxErr)
	}
	if !c.refreshes.closed || c.refreshes.start() {
		t.Fatal("a refresh may start after Close")
	}
}
