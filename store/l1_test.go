package store_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/store"
	"github.com/strata-cache/strata/store/storetest"
)

var ctx = context.Background()

// fakeClock is a settable Clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newL1(t testing.TB, cfg store.L1Config) *store.L1 {
	t.Helper()
	l, err := store.NewL1(cfg)
	if err != nil {
		t.Fatalf("NewL1(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestL1Suite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Tier { return newL1(t, store.L1Config{}) })
}

func TestL1SmallShardsRefuseLargeEntries(t *testing.T) {
	// 1 MiB over 16 shards: 64 KiB shards, a 32 KiB entry ceiling.
	l := newL1(t, store.L1Config{MaxBytes: 1 << 20, Shards: 16})
	if err := l.Set(ctx, "k", make([]byte, 64<<10), time.Minute); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Set(64 KiB) on 64 KiB shards = %v, want ErrTooLarge", err)
	}
}

func TestNewL1Config(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     store.L1Config
		wantErr string
	}{
		{"zero value", store.L1Config{}, ""},
		{"explicit", store.L1Config{MaxBytes: 8 << 20, Shards: 8, MaxEntryBytes: 1000, MaxTTL: time.Hour}, ""},
		{"not a power of two", store.L1Config{Shards: 3}, "power of two"},
		{"negative shards", store.L1Config{Shards: -4}, "power of two"},
		{"below 1 MiB", store.L1Config{MaxBytes: 1000}, "1 MiB"},
		{"negative bytes", store.L1Config{MaxBytes: -1}, "1 MiB"},
		{"entry above ceiling", store.L1Config{MaxEntryBytes: 131041}, "exceeds 131040"},
		{"entry at ceiling", store.L1Config{MaxEntryBytes: 131040}, ""},
		{"negative entry", store.L1Config{MaxEntryBytes: -1}, "negative"},
		{"shards too small", store.L1Config{MaxBytes: 1 << 20, Shards: 8192}, "fewer shards"},
		{"negative ttl", store.L1Config{MaxTTL: -time.Second}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := store.NewL1(tc.cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("NewL1: %v", err)
				}
				_ = l.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "store: ") {
				t.Fatalf("NewL1 error = %v, want one starting %q and containing %q", err, "store: ", tc.wantErr)
			}
		})
	}
}

func TestL1ExpiryWithClock(t *testing.T) {
	clk := newFakeClock()
	l := newL1(t, store.L1Config{Clock: clk.Now, MaxTTL: time.Hour})
	if err := l.Set(ctx, "k", []byte("v"), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := l.Set(ctx, "forever", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if err := l.Set(ctx, "long", []byte("v"), 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10*time.Second - time.Nanosecond)
	if _, err := l.Get(ctx, "k"); err != nil {
		t.Fatalf("Get 1ns before expiry: %v", err)
	}
	clk.Advance(time.Nanosecond)
	if _, err := l.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get at expiry: err = %v, want ErrNotFound", err)
	}
	if l.Len() != 2 {
		t.Fatalf("Len() = %d after the expired entry was read, want 2 (it is deleted)", l.Len())
	}
	// ttl 0 and ttl > MaxTTL are both capped at MaxTTL.
	clk.Advance(time.Hour - 10*time.Second - time.Nanosecond)
	for _, k := range []string{"forever", "long"} {
		if _, err := l.Get(ctx, k); err != nil {
			t.Fatalf("Get(%q) just before MaxTTL: %v", k, err)
		}
	}
	clk.Advance(time.Nanosecond)
	for _, k := range []string{"forever", "long"} {
		if _, err := l.Get(ctx, k); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(%q) at MaxTTL: err = %v, want ErrNotFound", k, err)
		}
	}
	st := l.Stats()
	if st.Expired != 3 || st.Hits != 3 || st.Misses != 3 {
		t.Fatalf("Stats() = %+v, want 3 hits, 3 misses, 3 expired", st)
	}
}

func TestL1TooLarge(t *testing.T) {
	l := newL1(t, store.L1Config{MaxBytes: 1 << 20, Shards: 4, MaxEntryBytes: 1000})
	key := "key"
	ok := make([]byte, 1000-len(key))
	if err := l.Set(ctx, key, ok, time.Minute); err != nil {
		t.Fatalf("Set at MaxEntryBytes: %v", err)
	}
	err := l.Set(ctx, key, append(ok, 'x'), time.Minute)
	if !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Set one byte over MaxEntryBytes = %v, want ErrTooLarge", err)
	}
	if _, err := l.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after a refused update = %v, want ErrNotFound (the old value is dropped)", err)
	}
	if st := l.Stats(); st.TooLarge != 1 {
		t.Fatalf("Stats().TooLarge = %d, want 1", st.TooLarge)
	}
}

// TestL1CeilingAlwaysFits fills one shard with entries of exactly the
// default ceiling, in mixed order with small ones: bigcache must place every
// one (evicting older entries), never fail or panic.
func TestL1CeilingAlwaysFits(t *testing.T) {
	l := newL1(t, store.L1Config{MaxBytes: 1 << 20, Shards: 1})
	ceiling := (1<<20)/2 - 32
	for i := range 60 {
		key := "k" + strconv.Itoa(i)
		size := ceiling - len(key)
		if i%3 == 1 {
			size = 1 + i*997%(ceiling/3)
		}
		v := bytes.Repeat([]byte{byte(i)}, size)
		if err := l.Set(ctx, key, v, time.Minute); err != nil {
			t.Fatalf("Set #%d (%d bytes): %v", i, size, err)
		}
		got, err := l.Get(ctx, key)
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("Get #%d: %d bytes, %v; want the %d bytes just stored", i, len(got), err, size)
		}
	}
	if l.Bytes() > 1<<20 {
		t.Fatalf("Bytes() = %d, above MaxBytes", l.Bytes())
	}
	if st := l.Stats(); st.Evictions == 0 {
		t.Fatalf("Stats() = %+v, want evictions", st)
	}
}

func TestL1ByteBound(t *testing.T) {
	l := newL1(t, store.L1Config{MaxBytes: 2 << 20, Shards: 4})
	v := make([]byte, 10<<10)
	for i := range 1000 { // ~10 MiB through a 2 MiB cache
		if err := l.Set(ctx, "k"+strconv.Itoa(i), v, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if b := l.Bytes(); b > 2<<20 {
		t.Fatalf("Bytes() = %d, want <= %d", b, 2<<20)
	}
	if n := l.Len(); n >= 1000 || n < 100 {
		t.Fatalf("Len() = %d, want the newest ~200 entries", n)
	}
	if _, err := l.Get(ctx, "k999"); err != nil {
		t.Fatalf("newest entry: %v", err)
	}
	if _, err := l.Get(ctx, "k0"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("oldest entry: %v, want ErrNotFound (evicted)", err)
	}
}

func TestL1ClearAndStats(t *testing.T) {
	l := newL1(t, store.L1Config{})
	for i := range 10 {
		if err := l.Set(ctx, "k"+strconv.Itoa(i), []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = l.Get(ctx, "k1")
	_, _ = l.Get(ctx, "nope")
	st := l.Stats()
	if st.Hits != 1 || st.Misses != 1 || st.Entries != 10 || st.Bytes <= 0 {
		t.Fatalf("Stats() = %+v, want 1 hit, 1 miss, 10 entries, some bytes", st)
	}
	l.Clear()
	if l.Len() != 0 {
		t.Fatalf("Len() after Clear = %d", l.Len())
	}
	if _, err := l.Get(ctx, "k1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Clear: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}

// TestL1OnRemove checks that the callback names every key that leaves the cache (delete,
// expiry found by Get, a refused update, eviction for room) and none that stays (an
// overwrite), and that the eviction counter still counts evictions only.
func TestL1OnRemove(t *testing.T) {
	clk := newFakeClock()
	var mu sync.Mutex
	var removed []string
	l := newL1(t, store.L1Config{MaxBytes: 1 << 20, Shards: 1, MaxEntryBytes: 64 << 10, Clock: clk.Now,
		OnRemove: func(key string) {
			mu.Lock()
			removed = append(removed, key)
			mu.Unlock()
		}})
	took := func() []string {
		mu.Lock()
		defer mu.Unlock()
		r := removed
		removed = nil
		return r
	}
	want := func(step string, keys ...string) {
		t.Helper()
		if got := took(); strings.Join(got, ",") != strings.Join(keys, ",") {
			t.Fatalf("%s: OnRemove got %q, want %q", step, got, keys)
		}
	}
	set := func(k string, n int, ttl time.Duration) {
		t.Helper()
		if err := l.Set(ctx, k, make([]byte, n), ttl); err != nil {
			t.Fatal(err)
		}
	}

	set("a", 10, time.Minute)
	set("a", 20, time.Minute)
	want("overwrite")
	if err := l.Delete(ctx, "a", "missing"); err != nil {
		t.Fatal(err)
	}
	want("delete", "a")

	set("b", 10, time.Second)
	clk.Advance(time.Second)
	if _, err := l.Get(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(expired) = %v", err)
	}
	want("expired on Get", "b")

	set("c", 10, time.Minute)
	if err := l.Set(ctx, "c", make([]byte, 100<<10), time.Minute); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Set too large = %v", err)
	}
	want("refused update", "c")

	// Fill the 1 MiB shard well past its size: the oldest keys are evicted, each reported once.
	for i := range 40 {
		set("e"+strconv.Itoa(i), 60<<10, time.Minute)
	}
	got := took()
	if len(got) == 0 {
		t.Fatal("no eviction reported after writing 2.4 MiB into 1 MiB")
	}
	for i, k := range got {
		if k != "e"+strconv.Itoa(i) {
			t.Fatalf("eviction %d reported %q; want the oldest first: %q", i, k, got)
		}
		if _, err := l.Get(ctx, k); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%q reported removed but still readable", k)
		}
	}
	if _, err := l.Get(ctx, "e"+strconv.Itoa(len(got))); err != nil {
		t.Fatalf("the oldest key not reported removed is gone: %v", err)
	}
	if st := l.Stats(); st.Evictions != int64(len(got)) {
		t.Fatalf("Stats().Evictions = %d, want %d (deletes are not evictions)", st.Evictions, len(got))
	}
	l.Clear()
	want("clear")
}
