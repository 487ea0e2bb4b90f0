package core

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/internal/redistest"
)

// newL2Cache builds a cache on a shared Redis with the real clock (Redis expiry is real time).
func newL2Cache(t testing.TB, client redis.UniversalClient, cfg Config, o ...redisOpts) *Cache {
	t.Helper()
	if cfg.Namespace == "" {
		cfg.Namespace = "t"
	}
	var opts redisOpts
	if len(o) > 0 {
		opts = o[0]
	}
	cfg = withRedis(t, cfg, client, opts)
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
	return c
}

// fleet is n caches sharing one Redis, each in front of its own counting origin.
type fleet struct {
	caches  []*Cache
	origins []*origin
	h       []http.Handler
}

func newFleet(t testing.TB, client redis.UniversalClient, n int, cfg Config, h http.HandlerFunc, o ...redisOpts) *fleet {
	f := &fleet{}
	for i := 0; i < n; i++ {
		c := newL2Cache(t, client, cfg, o...)
		o := newOrigin(h)
		f.caches = append(f.caches, c)
		f.origins = append(f.origins, o)
		f.h = append(f.h, c.Middleware(o))
	}
	return f
}

func (f *fleet) runs() int64 {
	var n int64
	for _, o := range f.origins {
		n += o.runs.Load()
	}
	return n
}

// waitFor polls cond every 2 ms up to d and reports how long it took.
func waitFor(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start), true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start), cond()
}

func sharedL2Suite(t *testing.T, client func(t *testing.T) redis.UniversalClient) {
	t.Run("hit on B after store on A", func(t *testing.T) {
		f := newFleet(t, client(t), 2, Config{Namespace: "share"}, publicHandler("max-age=60", "shared"))
		w := do(t, f.h[0], "GET", "/s")
		wantCacheStatus(t, w, "strata; fwd=uri-miss; ttl=60; stored")
		w = do(t, f.h[1], "GET", "/s")
		if !strings.HasPrefix(w.Header().Get("Cache-Status"), "strata; hit") || body(w) != "shared" {
			t.Fatalf("B: %q %q", w.Header().Get("Cache-Status"), body(w))
		}
		wantRuns(t, f.origins[1], 0)
	})
	t.Run("purge on A evicts B's L1 within 100ms", func(t *testing.T) {
		f := newFleet(t, client(t), 2, Config{Namespace: "purge"}, publicHandler("max-age=60", "v"))
		do(t, f.h[0], "GET", "/p")
		do(t, f.h[1], "GET", "/p") // now in B's L1 too
		if _, err := f.caches[0].Purge(context.Background(), "http://example.com/p"); err != nil {
			t.Fatal(err)
		}
		took, ok := waitFor(2*time.Second, func() bool {
			_, err := f.caches[1].l1.Get(context.Background(), string(f.caches[1].base(nil, keysFor(f.caches[1], "example.com", "/p"))))
			return err != nil
		})
		if !ok {
			t.Fatalf("B's L1 still holds the purged entry after %v", took)
		}
		w := do(t, f.h[1], "GET", "/p")
		wantCacheStatus(t, w, "strata; fwd=uri-miss; ttl=60; stored")
		t.Logf("L1 eviction on B took %v", took)
	})
	t.Run("unsafe method on A invalidates B", func(t *testing.T) {
		f := newFleet(t, client(t), 2, Config{Namespace: "unsafe"}, func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				w.WriteHeader(204)
				return
			}
			publicHandler("max-age=60", "v")(w, r)
		})
		do(t, f.h[0], "GET", "/u")
		do(t, f.h[1], "GET", "/u")
		do(t, f.h[0], "PUT", "/u")
		_, ok := waitFor(2*time.Second, func() bool {
			_, err := f.caches[1].l1.Get(context.Background(), string(f.caches[1].base(nil, keysFor(f.caches[1], "example.com", "/u"))))
			return err != nil
		})
		if !ok {
			t.Fatal("B's L1 kept the entry after a PUT on A")
		}
		wantCacheStatus(t, do(t, f.h[1], "GET", "/u"), "strata; fwd=uri-miss; ttl=60; stored")
	})
	t.Run("tags and PurgeAll across instances", func(t *testing.T) {
		f := newFleet(t, client(t), 2, Config{Namespace: "tags"}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Surrogate-Key", "all "+strings.TrimPrefix(r.URL.Path, "/"))
			publicHandler("max-age=60", r.URL.Path)(w, r)
		})
		for _, p := range []string{"/a", "/b"} {
			do(t, f.h[0], "GET", p)
			do(t, f.h[1], "GET", p)
		}
		n, err := f.caches[1].PurgeTags(context.Background(), "a")
		if err != nil || n < 1 {
			t.Fatalf("PurgeTags: %d, %v", n, err)
		}
		if w := do(t, f.h[0], "GET", "/a"); !strings.Contains(w.Header().Get("Cache-Status"), "stored") {
			if _, ok := waitFor(2*time.Second, func() bool {
				return strings.Contains(do(t, f.h[0], "GET", "/a").Header().Get("Cache-Status"), "fwd=")
			}); !ok {
				t.Fatalf("tag purge on B did not reach A: %q", w.Header().Get("Cache-Status"))
			}
		}
		if cs := do(t, f.h[0], "GET", "/b").Header().Get("Cache-Status"); !strings.Contains(cs, "hit") {
			t.Fatalf("untagged entry purged: %q", cs)
		}
		if err := f.caches[0].PurgeAll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, ok := waitFor(2*time.Second, func() bool { return f.caches[1].gen.Load() == f.caches[0].gen.Load() }); !ok {
			t.Fatal("generation did not reach B")
		}
		for i := range f.h {
			if cs := do(t, f.h[i], "GET", "/b").Header().Get("Cache-Status"); strings.Contains(cs, "hit") && i == 0 {
				t.Fatalf("instance %d: entry survived PurgeAll: %q", i, cs)
			}
		}
	})
	t.Run("stampede across 4 instances runs the handler once", func(t *testing.T) {
		in := newArrivals(400)
		// Semantics, not latency: a Redis call that times out on a loaded test machine runs
		// the handler without the lock (by design), which is not what this test is about.
		cfg := Config{Namespace: "stampede", LockWait: 5 * time.Second}
		f := newFleet(t, client(t), 4, cfg, func(w http.ResponseWriter, r *http.Request) {
			in.wait() // the fill answers once all 400 are in the fleet's caches
			publicHandler("max-age=60", "cold")(w, r)
		}, redisOpts{Timeout: slowTolerant})
		var wg sync.WaitGroup
		var bad sync.Map
		for i := 0; i < 400; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				w := do(t, in.wrap(f.h[i%4]), "GET", "/cold")
				if w.Code != 200 || body(w) != "cold" {
					bad.Store(i, fmt.Sprint(w.Code, body(w)))
				}
			}(i)
		}
		wg.Wait()
		bad.Range(func(k, v any) bool { t.Errorf("request %v: %v", k, v); return true })
		if n := f.runs(); n != 1 {
			t.Fatalf("handler runs across the fleet: got %d, want 1", n)
		}
	})
	t.Run("lock holder panic does not stall the fleet", func(t *testing.T) {
		var mu sync.Mutex
		first := true
		in := newArrivals(20)
		cfg := Config{Namespace: "panic", LockWait: 2 * time.Second} // semantics, as above
		f := newFleet(t, client(t), 2, cfg, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			p := first
			first = false
			mu.Unlock()
			if p {
				in.wait() // the leader dies once every request is queued behind it
				panic("leader dies")
			}
			publicHandler("max-age=60", "ok")(w, r)
		}, redisOpts{Timeout: slowTolerant})
		var wg sync.WaitGroup
		start := time.Now()
		results := make([]string, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				defer func() { _ = recover() }()
				results[i] = body(do(t, in.wrap(f.h[i%2]), "GET", "/pl"))
			}(i)
		}
		wg.Wait()
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("waiters stalled for %v after the leader panicked", d)
		}
		ok := 0
		for _, r := range results {
			if r == "ok" {
				ok++
			}
		}
		if ok != 19 {
			t.Fatalf("got %d good answers, want 19 (one request panicked)", ok)
		}
	})
}

// keysFor computes the keys of a plain URL on c.
func keysFor(c *Cache, host, path string) keys {
	return keys{hash: c.hashKey(c.primaryOf(nil, keyParts{scheme: "http", host: host, path: path}, nil)), gen: c.gen.Load()}
}

func TestL2SingleNode(t *testing.T) {
	srv := redistest.Start(t)
	sharedL2Suite(t, func(t *testing.T) redis.UniversalClient { return srv.Client(t) })
}

func TestL2Cluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	sharedL2Suite(t, func(t *testing.T) redis.UniversalClient { return cl.Client(t) })
}

// TestRedisDown: with Redis stopped mid-run every request still answers from L1 or the origin,
// never slower than the Redis timeout plus the handler; after a restart L2 use resumes.
func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	cfg := Config{Namespace: "down"}
	ro := redisOpts{Timeout: 50 * time.Millisecond, BreakerFailures: 3, BreakerCooldown: 200 * time.Millisecond}
	f := newFleet(t, srv.Client(t), 2, cfg, func(w http.ResponseWriter, r *http.Request) {
		publicHandler("max-age=60", r.URL.Path)(w, r)
	}, ro)
	do(t, f.h[0], "GET", "/warm")
	srv.Stop()
	for i := 0; i < 30; i++ {
		start := time.Now()
		w := do(t, f.h[i%2], "GET", fmt.Sprintf("/k%d", i%5))
		if d := time.Since(start); d > 250*time.Millisecond {
			t.Fatalf("request %d took %v with Redis down", i, d)
		}
		wantStatus(t, w, 200)
	}
	// The L1 went when the bus broke (a purge elsewhere could no longer reach it); an entry
	// refilled during the outage is served from L1 for OutageL1TTL.
	if w := do(t, f.h[0], "GET", "/warm"); !strings.Contains(w.Header().Get("Cache-Status"), "fwd=uri-miss") {
		t.Fatalf("an L1 entry from before the outage served while Redis is down: %q", w.Header().Get("Cache-Status"))
	}
	if w := do(t, f.h[0], "GET", "/warm"); !strings.Contains(w.Header().Get("Cache-Status"), "hit") {
		t.Fatalf("L1 entry not served while Redis is down: %q", w.Header().Get("Cache-Status"))
	}
	if healthy(f.caches[0]) {
		t.Fatal("breaker still closed with Redis down")
	}
	srv.Restart()
	// After the cooldown the breaker probes and closes; a store on A is a hit on B again.
	if _, ok := waitFor(5*time.Second, func() bool {
		do(t, f.h[0], "GET", "/after")
		w := do(t, f.h[1], "GET", "/after")
		return strings.Contains(w.Header().Get("Cache-Status"), "hit")
	}); !ok {
		t.Fatal("L2 use did not resume after Redis came back")
	}
}

// TestRedisSlowTripsBreaker: a paused Redis answers nothing; timeouts open the breaker and
// requests keep their bound.
func TestRedisSlowTripsBreaker(t *testing.T) {
	srv := redistest.Start(t)
	c := newL2Cache(t, srv.Client(t), Config{Namespace: "slow"}, redisOpts{Timeout: 30 * time.Millisecond, BreakerFailures: 3, BreakerCooldown: time.Minute})
	h := c.Middleware(newOrigin(publicHandler("max-age=60", "x")))
	srv.Pause()
	defer srv.Resume()
	for i := 0; i < 10; i++ {
		start := time.Now()
		wantStatus(t, do(t, h, "GET", fmt.Sprintf("/slow%d", i)), 200)
		if d := time.Since(start); d > 300*time.Millisecond {
			t.Fatalf("request %d took %v with Redis paused", i, d)
		}
	}
	if healthy(c) {
		t.Fatal("breaker did not open on a paused Redis")
	}
}

// TestClientGoneNotRedisFailure: a cancelled request neither trips the breaker nor runs the
// origin.
func TestClientGoneNotRedisFailure(t *testing.T) {
	srv := redistest.Start(t)
	c := newL2Cache(t, srv.Client(t), Config{Namespace: "gone", DisableL1: true}, redisOpts{BreakerFailures: 1})
	o := newOrigin(publicHandler("max-age=60", "x"))
	h := c.Middleware(o)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 5; i++ {
		r, _ := http.NewRequestWithContext(ctx, "GET", "http://example.com/g", nil)
		h.ServeHTTP(discardWriter{}, r)
	}
	wantRuns(t, o, 0)
	if !healthy(c) {
		t.Fatal("cancelled requests tripped the breaker")
	}
}

type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}

var _ = io.Discard
