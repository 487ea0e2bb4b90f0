package core

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/redistest"
)

// lateFill is an origin whose answer is the version it read when it started, and which can be
// held between that read and its answer: the late write of the issue (a fill that read the
// database before a PUT finishes after the PUT's purge).
type lateFill struct {
	version atomic.Int64
	hold    atomic.Pointer[chan struct{}] // when set, the next run reads, signals read, waits
	read    chan struct{}
}

func newLateFill() *lateFill {
	o := &lateFill{read: make(chan struct{}, 1)}
	o.version.Store(1)
	return o
}

func (o *lateFill) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v := o.version.Load()
	if h := o.hold.Swap(nil); h != nil {
		o.read <- struct{}{}
		<-*h
	}
	w.Header().Set("Cache-Control", "max-age=600")
	w.Header().Set("Surrogate-Key", "item")
	_, _ = fmt.Fprintf(w, "v%d", v)
}

// holdNext makes the next run wait after reading its version; release lets it answer.
func (o *lateFill) holdNext() (release func()) {
	ch := make(chan struct{})
	o.hold.Store(&ch)
	return func() { close(ch) }
}

// TestLateFillNotStored: a purge that comes while a fill's handler runs keeps that fill's
// answer out of every tier (it is served to its own client), whatever the purge: by URL, by
// tag, on this instance or another.
func TestLateFillNotStored(t *testing.T) {
	purges := map[string]func(c *Cache) error{
		"url": func(c *Cache) error { _, err := c.Purge(context.Background(), "http://example.com/item"); return err },
		"tag": func(c *Cache) error { _, err := c.PurgeTags(context.Background(), "item"); return err },
	}
	for name, purge := range purges {
		for _, where := range []string{"same", "other"} {
			t.Run(name+"/"+where, func(t *testing.T) {
				cs, f, _ := fakeCaches(t, 2, Config{Debug: true}, fault{})
				o := newLateFill()
				a, b := cs[0].Middleware(o), cs[1].Middleware(o)
				release := o.holdNext()
				done := make(chan string)
				go func() { done <- do(t, a, "GET", "/item").Header().Get("Cache-Status") }()
				<-o.read // the fill read v1
				o.version.Store(2)
				purger := cs[0]
				if where == "other" {
					purger = cs[1]
				}
				if err := purge(purger); err != nil {
					t.Fatal(err)
				}
				release()
				if cs := <-done; strings.Contains(cs, "stored") || !strings.Contains(cs, "detail=invalidated") {
					t.Fatalf("the late fill: Cache-Status %q, want served unstored (invalidated)", cs)
				}
				f.mu.Lock()
				n := len(f.vals)
				f.mu.Unlock()
				if n != 0 {
					t.Fatalf("the shared tier holds %d values after the late fill", n)
				}
				for _, h := range []http.Handler{a, b} {
					if w := do(t, h, "GET", "/item"); body(w) != "v2" {
						t.Fatalf("after the purge: %q (%s), want v2", body(w), w.Header().Get("Cache-Status"))
					}
				}
			})
		}
	}
}

// TestLateFillInterleavings: fills, PUTs (a new version, then a purge) and purges on two
// instances, interleaved at random (the purge before, during or after the fill's write); at
// the end every instance answers the last version. On the fake fleet and on Redis.
func TestLateFillInterleavings(t *testing.T) {
	run := func(t *testing.T, caches []*Cache, rounds int) {
		o := newLateFill()
		hs := []http.Handler{caches[0].Middleware(o), caches[1].Middleware(o)}
		rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // a reproducible test schedule, not a secret
		for i := range rounds {
			filler, purger := rng.IntN(2), rng.IntN(2)
			path := fmt.Sprintf("/item?round=%d", i) // the round's fill is a miss
			url := "http://example.com" + path
			release := o.holdNext()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); do(t, hs[filler], "GET", path) }()
			<-o.read
			o.version.Add(1) // the PUT's write, after the fill read
			purge := func() { _, _ = caches[purger].Purge(context.Background(), url) }
			switch rng.IntN(3) {
			case 0: // the purge before the fill answers
				purge()
				release()
			case 1: // the purge racing the fill's writes
				wg.Add(1)
				go func() { defer wg.Done(); purge() }()
				release()
			case 2: // the purge after the fill stored
				release()
				wg.Wait()
				purge()
			}
			wg.Wait()
			// Every instance answers the last version (another instance's L1 within the bus's
			// delay: a stale answer for longer is a late write).
			want := fmt.Sprintf("v%d", o.version.Load())
			for n, h := range hs {
				var got string
				if _, ok := waitFor(time.Second, func() bool {
					w := do(t, h, "GET", path)
					got = fmt.Sprintf("%d %q %s", w.Code, w.Body.String(), w.Header().Get("Cache-Status"))
					return w.Body.String() == want
				}); !ok {
					t.Fatalf("round %d: instance %d answers %s, want %s", i, n, got, want)
				}
			}
		}
	}
	t.Run("fake", func(t *testing.T) {
		cs, _, _ := fakeCaches(t, 2, Config{}, fault{})
		run(t, cs, 1000)
	})
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		if srv == nil {
			return
		}
		f := newFleet(t, srv.Client(t), 2, Config{Namespace: "late", HotBytes: -1}, func(http.ResponseWriter, *http.Request) {},
			redisOpts{Timeout: slowTolerant})
		// The fleet is formed once both buses are live (a message published before would be
		// missed, and the instance would answer from an L1 the purge never reached).
		if _, ok := waitFor(5*time.Second, func() bool { return !f.caches[0].busDown.Load() && !f.caches[1].busDown.Load() }); !ok {
			t.Fatal("the instances' buses are not live 5 s after New")
		}
		run(t, f.caches, 1000)
	})
}
