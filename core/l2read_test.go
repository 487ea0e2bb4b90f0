package core

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// waiting returns how many callers wait for the read of key in progress (0 when none is).
func (g *l2reads) waiting(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.m[key]; r != nil {
		return r.waiters
	}
	return 0
}

// Concurrent callers of one key share the first caller's read and its result; the key is
// read again once that read returned.
func TestL2ReadsShareOneRead(t *testing.T) {
	var g l2reads
	var reads atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	read := func(context.Context) ([]byte, error) {
		if reads.Add(1) == 1 {
			close(started)
			<-release
		}
		return []byte("entry"), nil
	}
	const n = 4
	var wg sync.WaitGroup
	got := make(chan string, n+1)
	wg.Go(func() {
		b, err := g.do(context.Background(), "k", read)
		if err != nil {
			t.Errorf("leader: %v", err)
		}
		got <- string(b)
	})
	<-started
	for range n {
		wg.Go(func() {
			b, err := g.do(context.Background(), "k", read)
			if err != nil {
				t.Errorf("waiter: %v", err)
			}
			got <- string(b)
		})
	}
	for g.waiting("k") < n {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	close(got)
	for b := range got {
		if b != "entry" {
			t.Fatalf("a caller got %q, want %q", b, "entry")
		}
	}
	if r := reads.Load(); r != 1 {
		t.Fatalf("%d reads for %d concurrent callers, want 1", r, n+1)
	}
	if _, err := g.do(context.Background(), "k", read); err != nil || reads.Load() != 2 {
		t.Fatalf("after the shared read: %v, %d reads; want a read of its own", err, reads.Load())
	}
}

// A read that panics panics in the caller that ran it; the callers waiting for it get an
// error (a tier failure: a miss), and the key is free again.
func TestL2ReadsPanicFailsWaiters(t *testing.T) {
	var g l2reads
	started, release := make(chan struct{}), make(chan struct{})
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_, _ = g.do(context.Background(), "k", func(context.Context) ([]byte, error) {
			close(started)
			<-release
			panic("tier bug")
		})
	}()
	<-started
	errc := make(chan error, 1)
	go func() {
		_, err := g.do(context.Background(), "k", func(context.Context) ([]byte, error) {
			return []byte("not this one"), nil
		})
		errc <- err
	}()
	for g.waiting("k") < 1 {
		runtime.Gosched()
	}
	close(release)
	if p := <-panicked; p != "tier bug" {
		t.Fatalf("the reading caller recovered %v, want the read's panic", p)
	}
	if err := <-errc; !errors.Is(err, errL2ReadAborted) {
		t.Fatalf("waiter got %v, want errL2ReadAborted", err)
	}
	b, err := g.do(context.Background(), "k", func(context.Context) ([]byte, error) { return []byte("again"), nil })
	if err != nil || string(b) != "again" {
		t.Fatalf("after the panic: %q, %v; want a read of its own", b, err)
	}
}

// The read's context keeps the first caller's values but not its cancellation or deadline:
// a client that leaves does not fail the read the others wait for.
func TestL2ReadsDetachedContext(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	var g l2reads
	_, _ = g.do(parent, "k", func(ctx context.Context) ([]byte, error) {
		cancel()
		if err := ctx.Err(); err != nil {
			t.Errorf("Err %v after the caller's cancel, want nil", err)
		}
		if ctx.Done() != nil {
			t.Error("Done is not nil: the read would end with its caller")
		}
		if _, ok := ctx.Deadline(); ok {
			t.Error("the read has a deadline of its caller's")
		}
		if v := ctx.Value(key{}); v != "v" {
			t.Errorf("Value %v, want the caller's %q", v, "v")
		}
		// A context derived from it is not canceled with the caller either.
		child, stop := context.WithCancel(ctx)
		defer stop()
		if child.Err() != nil {
			t.Errorf("a child's Err %v, want nil", child.Err())
		}
		return nil, nil
	})
}

// An L2 hit with the L1 disabled allocates the exchange, its keys (one string), the shared
// read and the answer's header values, and nothing else on the cache's side: no promotion
// (there is no L1), no boxed result or detached context, no decoded copy of its own. The
// tier here returns its own slice, so the count is the cache's.
func TestL2HitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	l2 := &memTierL2{m: map[string][]byte{}}
	c, _ := newTestCache(t, Config{DisableL1: true, L2: l2})
	body := []byte(strings.Repeat("x", 1000))
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	}))
	r := httptest.NewRequest(http.MethodGet, "/products/1", nil)
	for _, want := range []string{"stored", "hit"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("Cache-Status"); !strings.Contains(got, want) {
			t.Fatalf("Cache-Status %q, want %q", got, want)
		}
	}
	w := newBenchWriter()
	const budget = 4 // exchange, keys, l2read, header values
	n := testing.AllocsPerRun(200, func() {
		w.reset()
		h.ServeHTTP(w, r)
	})
	if w.status != http.StatusOK || w.n != len(body) {
		t.Fatalf("status %d, %d bytes; want 200, %d", w.status, w.n, len(body))
	}
	if n > budget {
		t.Fatalf("an L2 hit allocates %.1f times, want at most %d", n, budget)
	}
}
