package appcache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type product struct {
	ID    int     `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

func TestFetchLoadsOnceThenHits(t *testing.T) {
	c := newCache(t, Options[product]{})
	var n atomic.Int64
	load := func(context.Context) (product, error) { n.Add(1); return product{ID: 1, Name: "a"}, nil }
	for i := range 3 {
		p, err := c.Fetch(bg, "p1", load)
		if err != nil || p.Name != "a" {
			t.Fatalf("fetch %d: %+v %v", i, p, err)
		}
	}
	if n.Load() != 1 {
		t.Fatalf("loader ran %d times, want 1", n.Load())
	}
	s := c.Stats()
	if s.HitsL1 != 2 || s.Misses != 1 || s.Loads != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFetchCoalescesInProcess(t *testing.T) {
	c := newCache(t, Options[int]{})
	var n atomic.Int64
	release := make(chan struct{})
	load := func(context.Context) (int, error) { n.Add(1); <-release; return 7, nil }
	const callers = 200
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			v, err := c.Fetch(bg, "k", load)
			if err == nil && v != 7 {
				err = fmt.Errorf("got %d", v)
			}
			errs <- err
		})
	}
	waitFor(t, "every caller to miss", func() bool { return c.Stats().Misses == callers })
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n.Load() != 1 {
		t.Fatalf("loader ran %d times, want 1", n.Load())
	}
}

func TestNegativeCaching(t *testing.T) {
	c := newCache(t, Options[product]{NegativeTTL: time.Minute})
	var n atomic.Int64
	load := func(context.Context) (product, error) {
		n.Add(1)
		return product{}, fmt.Errorf("row 9: %w", ErrNotFound)
	}
	for range 3 {
		if _, err := c.Fetch(bg, "p9", load); err != ErrNotFound {
			t.Fatalf("err %v, want ErrNotFound", err)
		}
	}
	if n.Load() != 1 || c.Stats().NegativeHits != 2 {
		t.Fatalf("loads %d, stats %+v", n.Load(), c.Stats())
	}
}

func TestNegativeCachingDisabled(t *testing.T) {
	c := newCache(t, Options[int]{NegativeTTL: -1})
	var n atomic.Int64
	load := func(context.Context) (int, error) { n.Add(1); return 0, ErrNotFound }
	for range 2 {
		if _, err := c.Fetch(bg, "k", load); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	}
	if n.Load() != 2 {
		t.Fatalf("loads %d, want 2", n.Load())
	}
}

func TestLoaderErrorNotCached(t *testing.T) {
	c := newCache(t, Options[int]{})
	var n atomic.Int64
	load := func(context.Context) (int, error) {
		if n.Add(1) == 1 {
			return 0, errBoom
		}
		return 3, nil
	}
	if _, err := c.Fetch(bg, "k", load); err != errBoom {
		t.Fatalf("err %v", err)
	}
	if v, err := c.Fetch(bg, "k", load); err != nil || v != 3 {
		t.Fatalf("%d %v", v, err)
	}
	if c.Stats().LoadErrors != 1 {
		t.Fatalf("%+v", c.Stats())
	}
}

func TestTTLExpiresAndJitterShortens(t *testing.T) {
	clk := newClock()
	o := Options[int]{TTL: time.Minute, Jitter: 0.5, Beta: -1}
	o.L1.Clock = clk.Now
	c := newCache(t, o)
	var n atomic.Int64
	load := func(context.Context) (int, error) { return int(n.Add(1)), nil }
	_, _ = c.Fetch(bg, "k", load)
	clk.Advance(29 * time.Second) // below the shortest jittered TTL (30 s)
	if v, _ := c.Fetch(bg, "k", load); v != 1 {
		t.Fatalf("got %d before expiry", v)
	}
	clk.Advance(31*time.Second + time.Millisecond)
	if v, _ := c.Fetch(bg, "k", load); v != 2 {
		t.Fatalf("got %d after expiry", v)
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	clk := newClock()
	o := Options[int]{TTL: time.Minute, Jitter: -1, Beta: -1, StaleWhileRevalidate: time.Hour}
	o.L1.Clock = clk.Now
	c := newCache(t, o)
	var n atomic.Int64
	load := func(context.Context) (int, error) { return int(n.Add(1)), nil }
	_, _ = c.Fetch(bg, "k", load)
	clk.Advance(2 * time.Minute)
	if v, err := c.Fetch(bg, "k", load); v != 1 || err != nil {
		t.Fatalf("stale answer %d %v, want 1", v, err)
	}
	waitFor(t, "the background refresh", func() bool { v, _ := c.Fetch(bg, "k", load); return v == 2 })
	s := c.Stats()
	if s.StaleHits < 1 || s.Refreshes < 1 || n.Load() != 2 {
		t.Fatalf("loads %d, stats %+v", n.Load(), s)
	}
	clk.Advance(2 * time.Hour) // past the stale window: a foreground load
	if v, _ := c.Fetch(bg, "k", load); v != 3 {
		t.Fatalf("got %d past the stale window", v)
	}
}

func TestXFetchRefreshesEarly(t *testing.T) {
	clk := newClock()
	o := Options[int]{TTL: time.Minute, Jitter: -1, Beta: 1e6}
	o.L1.Clock = clk.Now
	c := newCache(t, o)
	var n atomic.Int64
	load := func(context.Context) (int, error) {
		clk.Advance(time.Second) // the load "takes" a second: δ
		return int(n.Add(1)), nil
	}
	_, _ = c.Fetch(bg, "k", load)
	if v, _ := c.Fetch(bg, "k", load); v != 1 {
		t.Fatalf("a fresh hit answered %d", v)
	}
	waitFor(t, "the early refresh", func() bool { return n.Load() >= 2 && c.Stats().Refreshes >= 1 })
}

func TestXFetchNotWithoutBeta(t *testing.T) {
	clk := newClock()
	o := Options[int]{TTL: time.Minute, Jitter: -1, Beta: -1}
	o.L1.Clock = clk.Now
	c := newCache(t, o)
	load := func(context.Context) (int, error) { clk.Advance(time.Second); return 1, nil }
	_, _ = c.Fetch(bg, "k", load)
	for range 100 {
		_, _ = c.Fetch(bg, "k", load)
	}
	if c.Stats().Refreshes != 0 {
		t.Fatal("refreshed with Beta disabled")
	}
}

func TestCloseCancelsRefresh(t *testing.T) {
	clk := newClock()
	o := Options[int]{TTL: time.Minute, Jitter: -1, Beta: -1, StaleWhileRevalidate: time.Hour}
	o.L1.Clock = clk.Now
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Fetch(bg, "k", func(context.Context) (int, error) { return 1, nil })
	clk.Advance(2 * time.Minute)
	started := make(chan struct{})
	canceled := make(chan struct{})
	_, _ = c.Fetch(bg, "k", func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		close(canceled)
		return 0, ctx.Err()
	})
	<-started
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	<-canceled
	if _, err := c.Fetch(bg, "other", func(context.Context) (int, error) { return 1, nil }); err != ErrClosed {
		t.Fatalf("fetch after close: %v", err)
	}
}

func TestCallerContextEndsWithoutCancellingTheLoad(t *testing.T) {
	c := newCache(t, Options[int]{})
	release := make(chan struct{})
	var loadErr atomic.Value
	load := func(ctx context.Context) (int, error) {
		<-release
		if ctx.Err() != nil {
			loadErr.Store(ctx.Err())
		}
		return 5, nil
	}
	ctx, cancel := context.WithCancel(bg)
	done := make(chan error)
	go func() { _, err := c.Fetch(ctx, "k", load); done <- err }()
	waitFor(t, "the miss", func() bool { return c.Stats().Misses == 1 })
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("err %v", err)
	}
	close(release)
	waitFor(t, "the load to be stored", func() bool {
		v, err := c.Fetch(bg, "k", func(context.Context) (int, error) { return -1, nil })
		return err == nil && v == 5
	})
	if loadErr.Load() != nil {
		t.Fatalf("the load's context ended: %v", loadErr.Load())
	}
}

func TestSchemaVersionSeparatesValues(t *testing.T) {
	l2 := newMapTier()
	c1 := newCache(t, Options[int]{L2: l2, Version: 1})
	if _, err := c1.Fetch(bg, "k", func(context.Context) (int, error) { return 1, nil }); err != nil {
		t.Fatal(err)
	}
	c2 := newCache(t, Options[string]{L2: l2, Version: 2})
	v, err := c2.Fetch(bg, "k", func(context.Context) (string, error) { return "two", nil })
	if err != nil || v != "two" {
		t.Fatalf("%q %v", v, err)
	}
	if len(l2.m) != 2 {
		t.Fatalf("L2 keys %v", l2.m)
	}
	// Bytes of another version under this version's key (a misconfiguration) are a miss too.
	l2.m[c2.valueKey("x")] = l2.m[c1.valueKey("k")]
	v, err = c2.Fetch(bg, "x", func(context.Context) (string, error) { return "fresh", nil })
	if err != nil || v != "fresh" {
		t.Fatalf("%q %v", v, err)
	}
}

func TestCorruptL2ValueIsAMiss(t *testing.T) {
	l2 := newMapTier()
	c := newCache(t, Options[int]{L2: l2})
	_, _ = c.Fetch(bg, "k", func(context.Context) (int, error) { return 1, nil })
	for _, mangle := range []func([]byte) []byte{
		func(b []byte) []byte { b[len(b)/2] ^= 1; return b },
		func(b []byte) []byte { return b[:len(b)-1] },
		func([]byte) []byte { return []byte("garbage") },
	} {
		vk := c.valueKey("k")
		good := append([]byte(nil), l2.m[vk]...)
		l2.m[vk] = mangle(append([]byte(nil), good...))
		c.l1.Clear()
		v, err := c.Fetch(bg, "k", func(context.Context) (int, error) { return 2, nil })
		if err != nil || v != 2 {
			t.Fatalf("%d %v", v, err)
		}
		_ = c.Invalidate(bg, "k")
		_, _ = c.Fetch(bg, "k", func(context.Context) (int, error) { return 1, nil })
	}
}

func TestL2HitPromotes(t *testing.T) {
	l2 := newMapTier()
	a := newCache(t, Options[int]{L2: l2})
	b := newCache(t, Options[int]{L2: l2})
	_, _ = a.Fetch(bg, "k", func(context.Context) (int, error) { return 4, nil })
	v, err := b.Fetch(bg, "k", func(context.Context) (int, error) { return -1, nil })
	if err != nil || v != 4 {
		t.Fatalf("%d %v", v, err)
	}
	_, _ = b.Fetch(bg, "k", func(context.Context) (int, error) { return -1, nil })
	if s := b.Stats(); s.HitsL2 != 1 || s.HitsL1 != 1 {
		t.Fatalf("%+v", s)
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options[int]{
		{Namespace: "a{b"}, {Namespace: "a:b"}, {TTL: -1}, {Jitter: 1}, {StaleWhileRevalidate: -1},
		{WriteBehind: &WriteBehind[int]{}},
	} {
		if c, err := New(o); err == nil {
			_ = c.Close()
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

func TestTagsL1Only(t *testing.T) {
	c := newCache(t, Options[product]{Tags: func(_ string, p product) []string {
		return []string{fmt.Sprintf("product:%d", p.ID)}
	}})
	var n atomic.Int64
	load := func(id int) Loader[product] {
		return func(context.Context) (product, error) { n.Add(1); return product{ID: id}, nil }
	}
	_, _ = c.Fetch(bg, "p1", load(1), WithTags("catalog"))
	_, _ = c.Fetch(bg, "p2", load(2))
	k, err := c.InvalidateTags(bg, "product:1")
	if err != nil || k != 1 {
		t.Fatalf("%d %v", k, err)
	}
	_, _ = c.Fetch(bg, "p1", load(1))
	_, _ = c.Fetch(bg, "p2", load(2))
	if n.Load() != 3 {
		t.Fatalf("loads %d, want 3", n.Load())
	}
}

// An L1 hit allocates what store.L1.Get does (bigcache's copy of the entry and of its key)
// and the decoded value, nothing of its own: rawCodec decodes without allocating but for the
// result's slice header.
func TestFetchL1HitAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts vary under the race detector")
	}
	c := newCache(t, Options[[]byte]{Codec: rawCodec{}, Beta: -1})
	load := func(context.Context) ([]byte, error) { return []byte("value"), nil }
	_, _ = c.Fetch(bg, "k", load)
	l1 := testing.AllocsPerRun(100, func() { _, _ = c.l1.Get(bg, c.valueKey("k")) }) - 1 // less valueKey's
	n := testing.AllocsPerRun(100, func() {
		if _, err := c.Fetch(bg, "k", load); err != nil {
			t.Fatal(err)
		}
	})
	if n > l1+1 {
		t.Fatalf("an L1 hit makes %v allocations, want at most %v (the L1's and the value's)", n, l1+1)
	}
	if s := c.Stats(); s.HitsL1 < 100 {
		t.Fatalf("not hits: %+v", s)
	}
}
