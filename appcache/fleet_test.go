package appcache

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store/redisstore"
)

// twoInstances returns two caches sharing a Redis server through two stores (two processes of
// a fleet).
func twoInstances[T any](t *testing.T, o Options[T]) (a, b *Cache[T], ra, rb *redisstore.Store) {
	t.Helper()
	srv := redistest.Start(t)
	if srv == nil {
		return
	}
	ra, rb = newRedisStore(t, srv), newRedisStore(t, srv)
	oa, ob := o, o
	oa.L2, ob.L2 = ra, rb
	return newCache(t, oa), newCache(t, ob), ra, rb
}

func TestStampedeAcrossTwoInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t, Options[int]{})
	var n atomic.Int64
	load := func(context.Context) (int, error) {
		n.Add(1)
		time.Sleep(100 * time.Millisecond) // a slow database
		return 42, nil
	}
	const callers = 1000
	var wg sync.WaitGroup
	var bad atomic.Int64
	start := make(chan struct{})
	for i := range callers {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() {
			<-start
			if v, err := c.Fetch(bg, "hot", load); err != nil || v != 42 {
				bad.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n.Load() != 1 || bad.Load() != 0 {
		t.Fatalf("loader ran %d times (want 1), %d bad answers", n.Load(), bad.Load())
	}
	t.Logf("a: %+v", a.Stats())
	t.Logf("b: %+v", b.Stats())
}

func TestFleetInvalidationDropsOtherL1(t *testing.T) {
	a, b, _, _ := twoInstances(t, Options[string]{})
	var src atomic.Value
	src.Store("v1")
	load := func(context.Context) (string, error) { return src.Load().(string), nil }
	_, _ = a.Fetch(bg, "k", load)
	_, _ = b.Fetch(bg, "k", load) // b's L1 holds v1 too
	src.Store("v2")
	if err := a.Invalidate(bg, "k"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to hear of it", func() bool { return b.Stats().Remote >= 1 })
	if v, _ := b.Fetch(bg, "k", load); v != "v2" {
		t.Fatalf("b answered %q", v)
	}
}

func TestMaxStalenessBoundsL1WhenAMessageIsLost(t *testing.T) {
	clk := newClock()
	o := Options[string]{TTL: time.Hour, Jitter: -1, Beta: -1, MaxStaleness: 10 * time.Second}
	o.L1.Clock = clk.Now
	a, _, ra, _ := twoInstances(t, o)
	var src atomic.Value
	src.Store("v1")
	load := func(context.Context) (string, error) { return src.Load().(string), nil }
	_, _ = a.Fetch(bg, "k", load)
	// The write and the L2 delete happen, the message is lost.
	src.Store("v2")
	_ = ra.Delete(bg, a.valueKey("k"))
	if v, _ := a.Fetch(bg, "k", load); v != "v1" {
		t.Fatalf("answered %q from L1 before MaxStaleness", v)
	}
	clk.Advance(10*time.Second + time.Millisecond)
	if v, _ := a.Fetch(bg, "k", load); v != "v2" {
		t.Fatalf("answered %q past MaxStaleness", v)
	}
}

func TestLockTakeoverAfterLockWait(t *testing.T) {
	a, _, ra, _ := twoInstances(t, Options[int]{LockWait: 50 * time.Millisecond})
	// Another instance holds the fill lock and never stores (it hangs).
	if _, ok, err := ra.Lock(bg, a.lockKey("k"), time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	v, err := a.Fetch(bg, "k", func(context.Context) (int, error) { return 9, nil })
	if err != nil || v != 9 {
		t.Fatalf("%d %v", v, err)
	}
	if s := a.Stats(); s.LockWaits != 1 || s.Takeovers != 1 {
		t.Fatalf("%+v", s)
	}
}

func TestWaiterGetsHolderValue(t *testing.T) {
	a, b, _, _ := twoInstances(t, Options[int]{})
	started := make(chan struct{})
	release := make(chan struct{})
	done := make(chan int)
	go func() {
		v, _ := a.Fetch(bg, "k", func(context.Context) (int, error) { close(started); <-release; return 1, nil })
		done <- v
	}()
	<-started
	go func() {
		v, _ := b.Fetch(bg, "k", func(context.Context) (int, error) { return 2, nil })
		done <- v
	}()
	waitFor(t, "b to wait for the lock", func() bool { return b.Stats().LockWaits == 1 })
	close(release)
	if v1, v2 := <-done, <-done; v1 != 1 || v2 != 1 {
		t.Fatalf("answers %d %d, want the holder's 1 twice", v1, v2)
	}
}

func TestSetWriteThroughAcrossInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t, Options[string]{})
	var db atomic.Value
	db.Store("v1")
	load := func(context.Context) (string, error) { return db.Load().(string), nil }
	_, _ = a.Fetch(bg, "k", load)
	_, _ = b.Fetch(bg, "k", load)
	if err := a.Set(bg, "k", "v2", func(context.Context) error { db.Store("v2"); return nil }); err != nil {
		t.Fatal(err)
	}
	never := func(context.Context) (string, error) { t.Error("a loaded after its own Set"); return "", nil }
	if v, _ := a.Fetch(bg, "k", never); v != "v2" {
		t.Fatalf("a answered %q", v)
	}
	waitFor(t, "b to hear of it", func() bool { return b.Stats().Remote >= 1 })
	if v, _ := b.Fetch(bg, "k", load); v != "v2" {
		t.Fatalf("b answered %q", v)
	}
	// A failing write changes nothing.
	if err := a.Set(bg, "k", "v3", func(context.Context) error { return errBoom }); err != errBoom {
		t.Fatal(err)
	}
	if v, _ := a.Fetch(bg, "k", load); v != "v2" {
		t.Fatalf("a answered %q after a failed write", v)
	}
}

func TestInvalidateTagsSharedWithHTTPCache(t *testing.T) {
	a, b, ra, _ := twoInstances(t, Options[int]{})
	load := func(context.Context) (int, error) { return 1, nil }
	_, _ = a.Fetch(bg, "p1", load, WithTags("product:1"))
	_, _ = b.Fetch(bg, "p1", load, WithTags("product:1"))
	// An HTTP response of core under the same tag (core's key shape).
	coreKey := "strata:{00000000000000ab}:0:v"
	_ = ra.Set(bg, coreKey, []byte("response"), time.Minute)
	_ = ra.TagAdd(bg, []string{"product:1"}, coreKey, time.Minute)
	var also fakePurger
	a.o.Also = &also
	n, err := a.InvalidateTags(bg, "product:1")
	if err != nil || n != 2 {
		t.Fatalf("%d %v", n, err)
	}
	if _, err := ra.Get(bg, coreKey); err == nil {
		t.Fatal("the HTTP response survived the tag purge")
	}
	if also.calls.Load() != 1 {
		t.Fatal("Options.Also not purged")
	}
	waitFor(t, "b to drop the value", func() bool { return b.Stats().Remote >= 1 })
	var n2 atomic.Int64
	_, _ = b.Fetch(bg, "p1", func(context.Context) (int, error) { n2.Add(1); return 2, nil })
	if n2.Load() != 1 {
		t.Fatal("b still held the purged value")
	}
}

func TestCoreKeyMessageDropsValues(t *testing.T) {
	a, b, ra, _ := twoInstances(t, Options[int]{})
	_, _ = b.Fetch(bg, "p1", func(context.Context) (int, error) { return 1, nil })
	// What core.Cache.PurgeTags publishes for the keys a shared tag named (after the kind, the
	// sending instance's 16-digit id).
	if err := ra.Publish(bg, []byte("K"+"0123456789abcdef"+"strata:{1}:0:v\n"+a.valueKey("p1"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to drop the value", func() bool { return b.Stats().Remote >= 1 })
	if _, err := b.l1.Get(bg, b.valueKey("p1")); err == nil {
		t.Fatal("b's L1 still holds the value")
	}
}

type fakePurger struct{ calls atomic.Int64 }

func (f *fakePurger) PurgeTags(context.Context, ...string) (int, error) {
	f.calls.Add(1)
	return 0, nil
}
