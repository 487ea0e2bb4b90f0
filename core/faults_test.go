package core

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fault suite: core's failure handling against a fake L2 and fleet (fake_test.go), with
// no server; l2_test.go runs the same situations against a real redis-server.

// fakeCaches builds n caches sharing one fake L2 and fleet, on one injected clock.
func fakeCaches(t *testing.T, n int, cfg Config, ft fault) ([]*Cache, *fakeShared, *clock) {
	t.Helper()
	clk := newClock()
	f := newFakeShared(clk.Now)
	f.set(ft)
	cfg.L2, cfg.Clock = f, clk.Now
	if cfg.Jitter == 0 {
		cfg.Jitter = -1
	}
	if cfg.Beta == 0 {
		cfg.Beta = -1
	}
	var cs []*Cache
	for range n {
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		cs = append(cs, c)
	}
	return cs, f, clk
}

// pathHandler answers "v<version> <path>", cacheable for a minute, tagged with its path.
func pathHandler(version *int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Surrogate-Key", "all p"+strings.ReplaceAll(r.URL.Path, "/", "-"))
		_, _ = fmt.Fprintf(w, "v%d %s", *version, r.URL.Path)
	}
}

// TestFakeFleet: two instances on one shared tier and fleet share entries, and every kind of
// purge on one reaches the other's L1 through the bus.
func TestFakeFleet(t *testing.T) {
	cs, _, _ := fakeCaches(t, 2, Config{}, fault{})
	v := 1
	oa, ob := newOrigin(pathHandler(&v)), newOrigin(pathHandler(&v))
	a, b := cs[0].Middleware(oa), cs[1].Middleware(ob)

	wantCacheStatus(t, do(t, a, "GET", "/x"), "strata; fwd=uri-miss; ttl=60; stored")
	w := do(t, b, "GET", "/x")
	if !strings.HasPrefix(w.Header().Get("Cache-Status"), "strata; hit") || body(w) != "v1 /x" {
		t.Fatalf("B after A stored: %q %q, want an L2 hit", w.Header().Get("Cache-Status"), body(w))
	}
	wantRuns(t, ob, 0)

	v = 2
	purges := []struct {
		name  string
		purge func() error
	}{
		{"url", func() error { _, err := cs[0].Purge(context.Background(), "http://example.com/x"); return err }},
		{"tag", func() error { _, err := cs[0].PurgeTags(context.Background(), "p-x"); return err }},
		{"all", func() error { return cs[0].PurgeAll(context.Background()) }},
	}
	for _, p := range purges {
		do(t, b, "GET", "/x") // in B's L1
		if err := p.purge(); err != nil {
			t.Fatalf("%s purge: %v", p.name, err)
		}
		w := do(t, b, "GET", "/x")
		if !strings.Contains(w.Header().Get("Cache-Status"), "fwd=uri-miss") {
			t.Fatalf("after a %s purge on A, B answered %q from %q", p.name, body(w), w.Header().Get("Cache-Status"))
		}
	}
}

// TestFaultDownAtStart: with the shared tier unreachable from the start, New succeeds, the
// cache runs on its L1 (entries stay out of the tier: it has no fleet secret) and purges
// still purge what this instance holds.
func TestFaultDownAtStart(t *testing.T) {
	obs := &events{}
	cs, f, _ := fakeCaches(t, 1, Config{Observer: obs}, fault{down: true})
	v := 1
	o := newOrigin(pathHandler(&v))
	h := cs[0].Middleware(o)
	wantCacheStatus(t, do(t, h, "GET", "/a"), "strata; fwd=uri-miss; ttl=60; stored")
	if w := do(t, h, "GET", "/a"); !strings.HasPrefix(w.Header().Get("Cache-Status"), "strata; hit") {
		t.Fatalf("second request: %q, want an L1 hit", w.Header().Get("Cache-Status"))
	}
	wantRuns(t, o, 1)
	f.set(fault{}) // the tier comes back: nothing was written to it meanwhile
	f.mu.Lock()
	n := len(f.vals)
	f.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d values in the shared tier written without the fleet's secret", n)
	}
	f.set(fault{down: true})
	if _, err := cs[0].PurgeTags(context.Background(), "p-a"); err == nil {
		t.Fatal("PurgeTags with the fleet down returned no error")
	}
	if w := do(t, h, "GET", "/a"); !strings.Contains(w.Header().Get("Cache-Status"), "fwd=uri-miss") {
		t.Fatalf("after PurgeTags with the fleet down: %q, want the local entry gone", w.Header().Get("Cache-Status"))
	}
	if err := cs[0].PurgeAll(context.Background()); err == nil {
		t.Fatal("PurgeAll with the fleet down returned no error")
	}
	if w := do(t, h, "GET", "/a"); !strings.Contains(w.Header().Get("Cache-Status"), "fwd=uri-miss") {
		t.Fatalf("after PurgeAll with the fleet down: %q, want a miss (local generation moved)", w.Header().Get("Cache-Status"))
	}
	if obs.errs.Load() == 0 {
		t.Fatal("no store error reported to the Observer")
	}
}

// TestFaultDownMidway: when the shared tier fails under a running cache, L1 hits go on and
// misses run the origin; nothing answers 5xx, nothing waits for the failure.
func TestFaultDownMidway(t *testing.T) {
	for _, tc := range []struct {
		name string
		ft   fault
	}{
		{"down", fault{down: true}},
		{"flapping", fault{flap: true}},
		{"lock-fails", fault{lockErr: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, f, _ := fakeCaches(t, 2, Config{}, fault{})
			v := 1
			oa, ob := newOrigin(pathHandler(&v)), newOrigin(pathHandler(&v))
			hs := []http.Handler{cs[0].Middleware(oa), cs[1].Middleware(ob)}
			do(t, hs[0], "GET", "/warm")
			f.set(tc.ft)
			var wg sync.WaitGroup
			errs := make(chan string, 200)
			for i := range 200 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					path := fmt.Sprintf("/k%d", i%7)
					if i%10 == 0 {
						path = "/warm"
					}
					w := do(t, hs[i%2], "GET", path)
					if w.Code != http.StatusOK || body(w) != "v1 "+path {
						errs <- fmt.Sprintf("GET %s: %d %q (%s)", path, w.Code, body(w), w.Header().Get("Cache-Status"))
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
		})
	}
}

// TestFaultCorruptValues: a value the shared tier returns cut, emptied or replaced is a miss
// (the origin answers, never the damaged bytes) and is deleted from the tier.
func TestFaultCorruptValues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func([]byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"cut-in-header", func(b []byte) []byte { return b[:min(len(b), 9)] }},
		{"cut-in-body", func(b []byte) []byte { return b[:len(b)-3] }},
		{"garbage", func(b []byte) []byte { return []byte("GET / HTTP/1.1\r\n\r\nnot an entry") }},
		{"other-version", func(b []byte) []byte { b[1]++; return b }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs, f, _ := fakeCaches(t, 1, Config{DisableL1: true, Debug: true}, fault{})
			v := 1
			o := newOrigin(pathHandler(&v))
			h := cs[0].Middleware(o)
			w := do(t, h, "GET", "/c")
			key := debugKey.FindStringSubmatch(w.Header().Get("Cache-Status"))
			if key == nil || !f.has(key[1]) {
				t.Fatalf("first request: %q, want stored in the shared tier", w.Header().Get("Cache-Status"))
			}
			f.set(fault{corrupt: tc.corrupt})
			w = do(t, h, "GET", "/c")
			if w.Code != http.StatusOK || body(w) != "v1 /c" || !strings.Contains(w.Header().Get("Cache-Status"), "fwd=uri-miss") {
				t.Fatalf("over a damaged value: %d %q %q, want the origin's answer", w.Code, body(w), w.Header().Get("Cache-Status"))
			}
			wantRuns(t, o, 2)
		})
	}
}

// TestFaultSlowClientLeaves: a client that leaves while the shared tier is slow to answer
// does not run the origin (its request is over). The read itself is shared with other
// requests for the key and bounded by the tier (Tier's contract), not by one client.
func TestFaultSlowClientLeaves(t *testing.T) {
	cs, f, _ := fakeCaches(t, 1, Config{DisableL1: true}, fault{})
	v := 1
	o := newOrigin(pathHandler(&v))
	h := cs[0].Middleware(o)
	f.set(fault{delay: 300 * time.Millisecond}) // a slow tier, within its own bound
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest("GET", "/slow", nil).WithContext(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}()
	for f.calls.Load() == 0 { // the lookup reached the tier
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the request did not end when its client left")
	}
	wantRuns(t, o, 0)
}

// TestFaultReconnectDropsL1: when the fleet reports that messages may have been lost, the L1
// goes (it may hold purged entries); the next request is answered from the shared tier.
func TestFaultReconnectDropsL1(t *testing.T) {
	obs := &events{}
	cs, f, _ := fakeCaches(t, 1, Config{Observer: obs}, fault{})
	v := 1
	h := cs[0].Middleware(newOrigin(pathHandler(&v)))
	do(t, h, "GET", "/r")
	do(t, h, "GET", "/r")
	if tier := obs.last().Tier; tier != "l1" {
		t.Fatalf("before: hit from %q, want l1", tier)
	}
	f.reconnect()
	w := do(t, h, "GET", "/r")
	if !strings.HasPrefix(w.Header().Get("Cache-Status"), "strata; hit") || obs.last().Tier != "l2" {
		t.Fatalf("after a reconnect: %q from %q, want an L2 hit", w.Header().Get("Cache-Status"), obs.last().Tier)
	}
}
