package core

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/redistest"
)

// TestEarlyRefreshOncePerFleet: an instance about to refresh an entry early finds the one
// another instance refreshed already in L2 and takes it, instead of running the origin.
func TestEarlyRefreshOncePerFleet(t *testing.T) {
	clk := newClock()
	f := newFakeShared(clk.Now)
	var eager atomic.Bool // XFetch draws: never refresh early, or always
	rnd := func() float64 {
		if eager.Load() {
			return 1e-300
		}
		return 1
	}
	cfg := Config{L2: f, Clock: clk.Now, Jitter: -1, Beta: 1, Rand: rnd}
	var cs []*Cache
	for range 2 {
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		cs = append(cs, c)
	}
	var runs atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		clk.Advance(100 * time.Millisecond) // the origin's time: XFetch's recompute delta
		// Short enough for XFetch to refresh early (ttl < recompute × 36.8 with this Rand).
		w.Header().Set("Cache-Control", "max-age=3")
		_, _ = w.Write([]byte("x"))
	})
	a, b := cs[0].Middleware(origin), cs[1].Middleware(origin)
	do(t, a, "GET", "/e") // miss: stored in L1 and L2
	do(t, b, "GET", "/e") // an L2 hit, promoted to B's L1
	if n := runs.Load(); n != 1 {
		t.Fatalf("origin runs after the fill: %d, want 1", n)
	}
	eager.Store(true)
	do(t, a, "GET", "/e") // a hit that refreshes early (the origin runs: a newer entry in L2)
	if n := runs.Load(); n != 2 {
		t.Fatalf("origin runs after A's early refresh: %d, want 2", n)
	}
	do(t, b, "GET", "/e") // B's hit would refresh too: it takes A's refresh from L2
	if n := runs.Load(); n != 2 {
		t.Fatalf("origin runs after B's early refresh: %d, want 2 (once per fleet)", n)
	}
}

// TestFailingRefreshBacksOff: a background refresh whose origin fails backs the key off, so
// twenty stale answers start one refresh, not twenty; after the back-off, the next does.
func TestFailingRefreshBacksOff(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	var runs atomic.Int64
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) > 1 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=600")
		_, _ = w.Write([]byte("ok"))
	}))
	do(t, h, "GET", "/f")
	clk.Advance(2 * time.Second) // stale, within stale-while-revalidate
	for i := range 20 {
		if w := do(t, h, "GET", "/f"); body(w) != "ok" {
			t.Fatalf("stale answer %d: %q", i, body(w))
		}
	}
	if n := runs.Load(); n != 2 {
		t.Fatalf("origin runs: %d, want 2 (the fill, one failed refresh)", n)
	}
	clk.Advance(refreshBackoff + time.Second)
	do(t, h, "GET", "/f")
	if n := runs.Load(); n != 3 {
		t.Fatalf("origin runs after the back-off: %d, want 3", n)
	}
}

// TestSteadyLoadRefreshOncePerTTL: two instances sharing Redis under steady load on one key
// (a request every 5 ms on each) with a 1 s lifetime and XFetch on: across four lifetimes the
// origin runs about once per lifetime for the whole fleet, not once per instance (the issue
// measured 9 runs in 4 lifetimes before refreshes were fenced across the fleet).
func TestSteadyLoadRefreshOncePerTTL(t *testing.T) {
	srv := redistest.Start(t)
	if srv == nil {
		return
	}
	f := newFleet(t, srv.Client(t), 2, Config{Namespace: "steady", Beta: 1}, publicHandler("max-age=1", "x"),
		redisOpts{Timeout: slowTolerant})
	const lifetimes = 4
	stop := time.Now().Add(lifetimes*time.Second + 500*time.Millisecond)
	var wg sync.WaitGroup
	for _, h := range f.h {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if w := do(t, h, "GET", "/steady"); w.Code != http.StatusOK {
					t.Errorf("status %d", w.Code)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	runs := f.runs()
	t.Logf("origin runs over %d lifetimes on two instances: %d (%d and %d)", lifetimes, runs, f.origins[0].runs.Load(), f.origins[1].runs.Load())
	if runs > lifetimes+2 {
		t.Fatalf("origin runs over %d lifetimes: %d, want about one per lifetime for the fleet (at most %d)", lifetimes, runs, lifetimes+2)
	}
}
