package appcache

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// batchSource is a fake table for batch loaders: it records each call's keys.
type batchSource struct {
	mu    sync.Mutex
	rows  map[string]int
	calls [][]string
	gate  chan struct{} // when set, each call waits for it
	in    chan []string // when set, each call sends its keys on entry
	err   error
}

func newBatchSource(n int) *batchSource {
	s := &batchSource{rows: make(map[string]int)}
	for i := range n {
		s.rows[fmt.Sprintf("k%d", i)] = i
	}
	return s
}

func (s *batchSource) load(_ context.Context, keys []string) (map[string]int, error) {
	ks := slices.Clone(keys)
	sort.Strings(ks)
	s.mu.Lock()
	s.calls = append(s.calls, ks)
	s.mu.Unlock()
	if s.in != nil {
		s.in <- ks
	}
	if s.gate != nil {
		<-s.gate
	}
	if s.err != nil {
		return nil, s.err
	}
	m := make(map[string]int)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if v, ok := s.rows[k]; ok {
			m[k] = v
		}
	}
	m["not-asked"] = -1 // ignored
	return m, nil
}

func (s *batchSource) loaded() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *batchSource) keysLoaded() int {
	n := 0
	for _, c := range s.loaded() {
		n += len(c)
	}
	return n
}

func wantValues(t *testing.T, got map[string]int, keys ...string) {
	t.Helper()
	want := make(map[string]int)
	for _, k := range keys {
		var i int
		_, _ = fmt.Sscanf(k, "k%d", &i)
		want[k] = i
	}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestFetchManyLoadsMissingOnceThenHits(t *testing.T) {
	c := newCache(t, Options[int]{})
	src := newBatchSource(3)
	_, _ = c.Fetch(bg, "k0", func(context.Context) (int, error) { return 0, nil })
	got, err := c.FetchMany(bg, []string{"k0", "k1", "k2", "k1", "gone"}, src.load)
	if err != nil {
		t.Fatal(err)
	}
	wantValues(t, got, "k0", "k1", "k2")
	if calls := src.loaded(); len(calls) != 1 || !slices.Equal(calls[0], []string{"gone", "k1", "k2"}) {
		t.Fatalf("loader calls %v, want one of [gone k1 k2]", calls)
	}
	// Everything cached now, the absence of "gone" too.
	got, err = c.FetchMany(bg, []string{"k2", "gone", "k1", "k0"}, src.load)
	if err != nil {
		t.Fatal(err)
	}
	wantValues(t, got, "k0", "k1", "k2")
	if n := len(src.loaded()); n != 1 {
		t.Fatalf("loader ran %d times, want 1", n)
	}
	if _, err := c.Fetch(bg, "gone", func(context.Context) (int, error) { return 9, nil }); err != ErrNotFound {
		t.Fatalf("Fetch of a key the batch left out: %v, want ErrNotFound", err)
	}
	s := c.Stats()
	if s.Misses != 4 || s.Loads != 4 || s.HitsL1 != 6 || s.NegativeHits != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFetchManyEmptyAndClosed(t *testing.T) {
	c, err := New(Options[int]{})
	if err != nil {
		t.Fatal(err)
	}
	src := newBatchSource(1)
	if got, err := c.FetchMany(bg, nil, src.load); err != nil || len(got) != 0 {
		t.Fatalf("%v %v", got, err)
	}
	_ = c.Close()
	if _, err := c.FetchMany(bg, []string{"k0"}, src.load); err != ErrClosed {
		t.Fatalf("%v, want ErrClosed", err)
	}
}

func TestFetchManyLoaderErrorNotCached(t *testing.T) {
	c := newCache(t, Options[int]{})
	src := newBatchSource(3)
	_, _ = c.FetchMany(bg, []string{"k0"}, src.load)
	src.err = errBoom
	got, err := c.FetchMany(bg, []string{"k0", "k1", "k2"}, src.load)
	if !errors.Is(err, errBoom) {
		t.Fatalf("err %v, want boom", err)
	}
	if err.Error() != errBoom.Error() {
		t.Fatalf("err %q: the batch's error is reported once", err)
	}
	wantValues(t, got, "k0") // the hit is still returned
	src.err = nil
	got, err = c.FetchMany(bg, []string{"k0", "k1", "k2"}, src.load)
	if err != nil {
		t.Fatal(err)
	}
	wantValues(t, got, "k0", "k1", "k2")
	if s := c.Stats(); s.LoadErrors != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFetchManyLoaderNotFoundCachesAll(t *testing.T) {
	c := newCache(t, Options[int]{})
	var n atomic.Int64
	load := func(context.Context, []string) (map[string]int, error) {
		n.Add(1)
		return nil, fmt.Errorf("table gone: %w", ErrNotFound)
	}
	for range 2 {
		got, err := c.FetchMany(bg, []string{"a", "b"}, load)
		if err != nil || len(got) != 0 {
			t.Fatalf("%v %v", got, err)
		}
	}
	if n.Load() != 1 {
		t.Fatalf("loader ran %d times", n.Load())
	}
}

func TestFetchManyNegativeCachingDisabled(t *testing.T) {
	c := newCache(t, Options[int]{NegativeTTL: -1})
	src := newBatchSource(1)
	for range 2 {
		if got, err := c.FetchMany(bg, []string{"k0", "gone"}, src.load); err != nil || len(got) != 1 {
			t.Fatalf("%v %v", got, err)
		}
	}
	if calls := src.loaded(); len(calls) != 2 || !slices.Equal(calls[1], []string{"gone"}) {
		t.Fatalf("calls %v", calls)
	}
}

// A Fetch of a key a FetchMany is loading waits for the batch, and a FetchMany of a key a Fetch
// is loading waits for the Fetch: each key loads once.
func TestFetchManyCoalescesWithFetch(t *testing.T) {
	t.Run("fetch joins batch", func(t *testing.T) {
		c := newCache(t, Options[int]{})
		src := newBatchSource(3)
		src.gate = make(chan struct{})
		src.in = make(chan []string, 1)
		done := make(chan map[string]int)
		go func() {
			got, _ := c.FetchMany(bg, []string{"k0", "k1", "k2"}, src.load)
			done <- got
		}()
		<-src.in // the batch is loading
		var n atomic.Int64
		fetched := make(chan int)
		go func() {
			v, _ := c.Fetch(bg, "k1", func(context.Context) (int, error) { n.Add(1); return 100, nil })
			fetched <- v
		}()
		waitFor(t, "the Fetch to miss", func() bool { return c.Stats().Misses == 4 })
		close(src.gate)
		wantValues(t, <-done, "k0", "k1", "k2")
		if v := <-fetched; v != 1 || n.Load() != 0 {
			t.Fatalf("Fetch answered %d and loaded %d times, want the batch's 1", v, n.Load())
		}
	})
	t.Run("batch joins fetch", func(t *testing.T) {
		c := newCache(t, Options[int]{})
		src := newBatchSource(3)
		started, release := make(chan struct{}), make(chan struct{})
		fetched := make(chan int)
		go func() {
			v, _ := c.Fetch(bg, "k1", func(context.Context) (int, error) { close(started); <-release; return 1, nil })
			fetched <- v
		}()
		<-started
		done := make(chan map[string]int)
		go func() {
			got, _ := c.FetchMany(bg, []string{"k0", "k1", "k2"}, src.load)
			done <- got
		}()
		waitFor(t, "the batch to load the others", func() bool { return len(src.loaded()) == 1 })
		close(release)
		wantValues(t, <-done, "k0", "k1", "k2")
		<-fetched
		if calls := src.loaded(); len(calls) != 1 || !slices.Equal(calls[0], []string{"k0", "k2"}) {
			t.Fatalf("batch loaded %v, want [k0 k2] only", calls)
		}
	})
}

func TestFetchManyCallerContextEnds(t *testing.T) {
	c := newCache(t, Options[int]{})
	src := newBatchSource(2)
	src.gate = make(chan struct{})
	src.in = make(chan []string, 1)
	ctx, cancel := context.WithCancel(bg)
	errc := make(chan error)
	go func() {
		_, err := c.FetchMany(ctx, []string{"k0", "k1"}, src.load)
		errc <- err
	}()
	<-src.in
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("%v, want context.Canceled", err)
	}
	close(src.gate) // the load goes on and is stored
	waitFor(t, "the load to be stored", func() bool {
		_, err := c.l1.Get(bg, c.valueKey("k1"))
		return err == nil
	})
	got, err := c.FetchMany(bg, []string{"k0", "k1"}, src.load)
	if err != nil || len(src.loaded()) != 1 {
		t.Fatalf("%v %v %v", got, err, src.loaded())
	}
	wantValues(t, got, "k0", "k1")
}

// batchTier is a mapTier that reads several keys at once.
type batchTier struct {
	*mapTier
	getMany atomic.Int64
}

func (t *batchTier) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	t.getMany.Add(1)
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i], _ = t.Get(ctx, k)
	}
	return out, nil
}

func TestFetchManyFromL2(t *testing.T) {
	for _, batched := range []bool{false, true} {
		t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) {
			var l2 interface {
				Get(context.Context, string) ([]byte, error)
				Set(context.Context, string, []byte, time.Duration) error
				Delete(context.Context, ...string) error
			}
			bt := &batchTier{mapTier: newMapTier()}
			if batched {
				l2 = bt
			} else {
				l2 = bt.mapTier
			}
			a := newCache(t, Options[int]{L2: l2})
			b := newCache(t, Options[int]{L2: l2})
			src := newBatchSource(4)
			if _, err := a.FetchMany(bg, []string{"k0", "k1", "k2"}, src.load); err != nil {
				t.Fatal(err)
			}
			got, err := b.FetchMany(bg, []string{"k0", "k1", "k2", "k3"}, src.load)
			if err != nil {
				t.Fatal(err)
			}
			wantValues(t, got, "k0", "k1", "k2", "k3")
			if calls := src.loaded(); len(calls) != 2 || !slices.Equal(calls[1], []string{"k3"}) {
				t.Fatalf("calls %v, want b to load k3 only", calls)
			}
			if s := b.Stats(); s.HitsL2 != 3 || s.Loads != 1 {
				t.Fatalf("b: %+v", s)
			}
			// Copied into b's L1.
			if _, err := b.l1.Get(bg, b.valueKey("k1")); err != nil {
				t.Fatal("not promoted")
			}
			if batched && bt.getMany.Load() != 2 {
				t.Fatalf("GetMany called %d times, want 2", bt.getMany.Load())
			}
		})
	}
}

func TestFetchManyTagsAndInvalidate(t *testing.T) {
	c := newCache(t, Options[int]{})
	src := newBatchSource(3)
	_, _ = c.FetchMany(bg, []string{"k0", "k1", "k2"}, src.load, WithTags("all"))
	if _, err := c.InvalidateTags(bg, "all"); err != nil {
		t.Fatal(err)
	}
	_, _ = c.FetchMany(bg, []string{"k0", "k1", "k2"}, src.load)
	if n := src.keysLoaded(); n != 6 {
		t.Fatalf("%d keys loaded, want 6 (all again after the purge)", n)
	}
}

func TestFetchManyRefreshesOneKey(t *testing.T) {
	clk := newClock()
	o := Options[int]{TTL: time.Minute, Jitter: -1, StaleWhileRevalidate: time.Minute}
	o.L1.Clock = clk.Now
	c := newCache(t, o)
	src := newBatchSource(3)
	_, _ = c.FetchMany(bg, []string{"k0", "k1"}, src.load)
	clk.Advance(90 * time.Second) // stale
	got, err := c.FetchMany(bg, []string{"k0"}, src.load)
	if err != nil {
		t.Fatal(err)
	}
	wantValues(t, got, "k0")
	waitFor(t, "the refresh", func() bool { return len(src.loaded()) == 2 })
	if calls := src.loaded(); !slices.Equal(calls[1], []string{"k0"}) {
		t.Fatalf("refresh loaded %v", calls[1])
	}
}

// observerLog records the events of one cache.
type observerLog struct {
	NopObserver
	mu     sync.Mutex
	events []string
}

func (o *observerLog) add(s string) {
	o.mu.Lock()
	o.events = append(o.events, s)
	o.mu.Unlock()
}
func (o *observerLog) Hit(k string, l Level, _, neg bool) {
	o.add(fmt.Sprintf("hit %s %s %v", k, l, neg))
}
func (o *observerLog) Miss(k string) { o.add("miss " + k) }
func (o *observerLog) Load(k string, _ time.Duration, _ bool, err error) {
	o.add(fmt.Sprintf("load %s %v", k, err))
}

func TestFetchManyObserver(t *testing.T) {
	var obs observerLog
	c := newCache(t, Options[int]{Observer: &obs})
	src := newBatchSource(1)
	_, _ = c.FetchMany(bg, []string{"k0", "gone"}, src.load)
	_, _ = c.FetchMany(bg, []string{"k0", "gone"}, src.load)
	got := slices.Clone(obs.events)
	slices.Sort(got[2:4]) // the two loads run concurrently
	want := []string{"miss k0", "miss gone", "load gone appcache: not found", "load k0 <nil>",
		"hit k0 l1 false", "hit gone l1 true"}
	if !slices.Equal(got, want) {
		t.Fatalf("events\n%q\nwant\n%q", got, want)
	}
}

// 500 concurrent FetchMany of overlapping keys on two instances sharing Redis: every key is
// loaded once across the fleet.
func TestFetchManyStampedeAcrossTwoInstances(t *testing.T) {
	a, b, _, _ := twoInstances(t, Options[int]{})
	src := newBatchSource(20)
	slow := func(ctx context.Context, keys []string) (map[string]int, error) {
		time.Sleep(50 * time.Millisecond)
		return src.load(ctx, keys)
	}
	const callers = 500
	var wg sync.WaitGroup
	var bad atomic.Int64
	start := make(chan struct{})
	for i := range callers {
		c := a
		if i%2 == 1 {
			c = b
		}
		keys := make([]string, 0, 10)
		for j := range 10 {
			keys = append(keys, fmt.Sprintf("k%d", (i+j)%20))
		}
		wg.Go(func() {
			<-start
			got, err := c.FetchMany(bg, keys, slow)
			if err != nil || len(got) != len(keys) {
				bad.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := src.keysLoaded(); n != 20 || bad.Load() != 0 {
		t.Fatalf("%d keys loaded (want 20) in %d calls, %d bad answers", n, len(src.loaded()), bad.Load())
	}
	t.Logf("%d loader calls; a: %+v", len(src.loaded()), a.Stats())
	t.Logf("b: %+v", b.Stats())
}
