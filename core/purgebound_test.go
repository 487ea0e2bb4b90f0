package core

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/redistest"
)

// TestPurgeBoundRedisStalled is the README's purge guarantee against a real redis-server
// that hangs (SIGSTOP) under two instances:
//   - the instance that purged never answers the purged version once Purge returned;
//   - the other, which the purge cannot reach, stops answering it within twice the bus's
//     health check (it notices the hung bus and drops its L1), and an entry it refills
//     meanwhile lives at most Config.OutageL1TTL in its L1, so a second purge during the outage
//     reaches its answers within that too;
//   - once Redis answers again, the kept purges are replayed, and both instances and the L2
//     agree on the last version.
func TestPurgeBoundRedisStalled(t *testing.T) {
	srv := redistest.Start(t)
	if srv == nil {
		return
	}
	const hc = time.Second // redisstore's default SubscribeHealthCheck
	var version atomic.Int64
	version.Store(1)
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = fmt.Fprintf(w, "v%d", version.Load())
	}
	f := newFleet(t, srv.Client(t), 2, Config{Namespace: "bound"}, h,
		redisOpts{Timeout: 100 * time.Millisecond, SubscribeHealthCheck: hc})
	a, b := f.h[0], f.h[1]
	const url = "http://example.com/p"
	if got := body(do(t, a, "GET", "/p")); got != "v1" {
		t.Fatalf("A: %q", got)
	}
	if w := do(t, b, "GET", "/p"); body(w) != "v1" || w.Header().Get("Cache-Status") == "" {
		t.Fatalf("B: %q", body(w))
	}

	purge := func(want string) time.Time {
		t.Helper()
		version.Add(1)
		start := time.Now()
		if _, err := f.caches[0].Purge(context.Background(), url); err != nil {
			t.Fatalf("Purge during the stall: %v", err)
		}
		t.Logf("Purge returned in %s with Redis hung", time.Since(start).Round(time.Millisecond))
		if got := body(do(t, a, "GET", "/p")); got != want {
			t.Fatalf("A right after its Purge returned: %q, want %s", got, want)
		}
		return start
	}
	// reached polls B until it answers want and returns how long after since that was.
	reached := func(since time.Time, want string, bound time.Duration) time.Duration {
		t.Helper()
		var got string
		if _, ok := waitFor(bound+5*time.Second, func() bool {
			got = body(do(t, b, "GET", "/p"))
			return got == want
		}); !ok {
			t.Fatalf("B still answers %q, want %s", got, want)
		}
		d := time.Since(since)
		// The slack is for a loaded CI machine (each of B's Redis calls waits out its
		// timeout while Redis hangs), not for the mechanism.
		if d > bound+time.Second {
			t.Errorf("B answered the purged version for %s, bound %s", d.Round(time.Millisecond), bound)
		}
		return d
	}

	srv.Pause()
	stalled := time.Now()
	p := purge("v2")
	d := reached(p, "v2", 2*hc)
	t.Logf("B stopped answering v1 %s after the purge (%s after Redis hung; bound 2 × health check = %s)",
		d.Round(time.Millisecond), time.Since(stalled).Round(time.Millisecond), 2*hc)

	// A second purge while Redis still hangs: B's refilled entry lives at most OutageL1TTL.
	p = purge("v3")
	bound := f.caches[1].cfg.OutageL1TTL
	d = reached(p, "v3", bound)
	t.Logf("during the outage, B stopped answering v2 %s after the purge (bound OutageL1TTL = %s)", d.Round(time.Millisecond), bound)

	srv.Resume()
	resumed := time.Now()
	if _, ok := waitFor(10*time.Second, func() bool { return !f.caches[0].intents.pending() }); !ok {
		t.Fatal("the purges kept during the stall were not replayed within 10 s of Redis answering")
	}
	t.Logf("kept purges replayed %s after Redis answered", time.Since(resumed).Round(time.Millisecond))
	for n, hh := range f.h {
		if got := body(do(t, hh, "GET", "/p")); got != "v3" {
			t.Errorf("instance %d after the replay: %q, want v3", n, got)
		}
	}
	// A third instance, with a cold L1, reads what the L2 holds.
	c := newL2Cache(t, srv.Client(t), Config{Namespace: "bound"}, redisOpts{Timeout: slowTolerant})
	if got := body(do(t, c.Middleware(http.HandlerFunc(h)), "GET", "/p")); got != "v3" {
		t.Errorf("a new instance after the replay: %q, want v3", got)
	}
}
