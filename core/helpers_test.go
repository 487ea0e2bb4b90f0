package core

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is an injected clock for freshness tests: no sleeps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTestCache builds an L1-only cache with a fake clock and no jitter.
func newTestCache(t testing.TB, cfg Config) (*Cache, *clock) {
	t.Helper()
	clk := newClock()
	if cfg.Clock == nil {
		cfg.Clock = clk.Now
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = -1
	}
	if cfg.Beta == 0 {
		cfg.Beta = -1
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, clk
}

// origin counts handler runs.
type origin struct {
	runs atomic.Int64
	h    http.HandlerFunc
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.runs.Add(1)
	o.h(w, r)
}

func newOrigin(h http.HandlerFunc) *origin { return &origin{h: h} }

// do sends one request through h; hdr is "Name: value" pairs.
func do(t testing.TB, h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for _, kv := range hdr {
		k, v, _ := strings.Cut(kv, ":")
		r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// body is the body a recorder got; it can be read any number of times (Result's body,
// which Result caches, reads once).
func body(w *httptest.ResponseRecorder) string { return w.Body.String() }

func wantStatus(t testing.TB, w *httptest.ResponseRecorder, code int) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("status: got %d, want %d (Cache-Status %q)", w.Code, code, w.Header().Get("Cache-Status"))
	}
}

func wantCacheStatus(t testing.TB, w *httptest.ResponseRecorder, want string) {
	t.Helper()
	if got := w.Header().Get("Cache-Status"); got != want {
		t.Fatalf("Cache-Status: got %q, want %q", got, want)
	}
}

func wantRuns(t testing.TB, o *origin, n int64) {
	t.Helper()
	if got := o.runs.Load(); got != n {
		t.Fatalf("origin runs: got %d, want %d", got, n)
	}
}

// publicHandler answers a cacheable body.
func publicHandler(cc, text string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cc)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, text)
	}
}

// arrivals counts the requests of a burst entering a handler, so that an origin can hold its
// first run until the whole burst is in the cache, instead of sleeping and hoping it is.
type arrivals struct {
	want int64
	n    atomic.Int64
	all  chan struct{}
}

func newArrivals(n int) *arrivals { return &arrivals{want: int64(n), all: make(chan struct{})} }

func (a *arrivals) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.n.Add(1) == a.want {
			close(a.all)
		}
		h.ServeHTTP(w, r)
	})
}

// wait blocks until every request of the burst has entered.
func (a *arrivals) wait() { <-a.all }
