package redisstore_test

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store"
	"github.com/strata-cache/strata/store/redisstore"
)

// Faults of a real redis-server that a cache meets in production: memory full, evictions,
// killed connections, a frozen process. Each test asserts what the store does.

// TestFaultOOMNoeviction: with maxmemory reached under noeviction, Redis refuses writes with
// an OOM error reply. Set and TagAdd return it (wrapped, "store: "), it is counted in Errors,
// and the breaker stays closed, even with a minimum volume of 1: the server answers, reads
// still work, and a DEL makes room again.
func TestFaultOOMNoeviction(t *testing.T) {
	srv := redistest.Start(t, redistest.WithArgs("--maxmemory", "4mb", "--maxmemory-policy", "noeviction"))
	r := newRedis(t, srv, redisstore.Options{BreakerFailures: 1, Timeout: time.Second})
	value := bytes.Repeat([]byte("x"), 64<<10)

	var written []string
	var oom error
	for i := range 1000 { // 64 MB at most: far past 4 MB
		key := "oom:" + strconv.Itoa(i)
		if err := r.Set(ctx, key, value, time.Hour); err != nil {
			oom = err
			break
		}
		written = append(written, key)
	}
	if oom == nil || !strings.Contains(oom.Error(), "OOM") || !strings.HasPrefix(oom.Error(), "store: ") {
		t.Fatalf("Set past maxmemory = %v, want a store: ... OOM error", oom)
	}
	if len(written) == 0 {
		t.Fatal("no Set succeeded under 4 MB")
	}
	for range 50 {
		if err := r.Set(ctx, "oom:more", value, time.Hour); err == nil || !strings.Contains(err.Error(), "OOM") {
			t.Fatalf("Set while full = %v, want OOM", err)
		}
	}
	if err := r.TagAdd(ctx, []string{"full"}, "oom:more", time.Hour); err == nil || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("TagAdd while full = %v, want OOM", err)
	}
	if got, err := r.Get(ctx, written[0]); err != nil || !bytes.Equal(got, value) {
		t.Fatalf("Get while full = %d bytes, %v; want the stored value", len(got), err)
	}
	st := r.Stats()
	if st.Errors != 52 || st.Timeouts != 0 || st.BreakerOpens != 0 || st.Breaker != store.BreakerClosed || !r.Healthy() {
		t.Fatalf("after 52 OOM replies: %+v; want 52 errors, no timeout, breaker closed and never opened", st)
	}
	if err := r.Delete(ctx, written...); err != nil {
		t.Fatalf("Delete while full = %v", err)
	}
	if err := r.Set(ctx, "oom:more", value, time.Hour); err != nil {
		t.Fatalf("Set after a Delete made room = %v", err)
	}
}

// fill writes 1 KiB values with ttl until Redis has evicted at least n keys. It fails the
// test after 200,000 writes.
func fill(t *testing.T, r *redisstore.Store, srv *redistest.Server, n int, ttl time.Duration) {
	t.Helper()
	raw := srv.Client(t)
	value := bytes.Repeat([]byte("f"), 1<<10)
	for i := range 200_000 {
		if err := r.Set(ctx, "fill:"+strconv.Itoa(i), value, ttl); err != nil {
			t.Fatalf("fill Set %d: %v", i, err)
		}
		if i%500 == 499 && evicted(t, raw.Info(ctx, "stats").Val()) >= n {
			return
		}
	}
	t.Fatalf("fewer than %d keys evicted after 200,000 writes", n)
}

// evicted reads evicted_keys from INFO stats.
func evicted(t *testing.T, info string) int {
	t.Helper()
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "evicted_keys:"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("INFO evicted_keys %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("INFO stats without evicted_keys")
	return 0
}

// TestFaultAllkeysLRUEvictsTagSets shows what allkeys-* policies do to the tag index: Redis
// may evict a tag set while entries it names live on. TagPurge then finds no set and returns
// no keys and no error, so the purge deletes nothing. What keeps the purge correct is the
// tag's stamp (TagAddStamped, TagStamps): TagPurge deletes it, and core treats an entry whose
// recorded stamps differ from the current ones as a miss (core's TestTagPurgeAllkeysLRU runs
// the whole case through two caches).
func TestFaultAllkeysLRUEvictsTagSets(t *testing.T) {
	srv := redistest.Start(t, redistest.WithArgs("--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru"))
	r := newRedis(t, srv, redisstore.Options{Timeout: time.Second})
	raw := srv.Client(t)
	if err := r.Set(ctx, "entry", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	stamps, err := r.TagAddStamped(ctx, []string{"product:1"}, "entry", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Age the tag set as if it had not been read for an hour (LRU idle time has a resolution
	// of one second; RESTORE ... IDLETIME sets it), so that the LRU picks it once sampled.
	tagKey := r.TagKey("product:1")
	dump, err := raw.Dump(ctx, tagKey).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Do(ctx, "RESTORE", tagKey, time.Hour.Milliseconds(), dump, "REPLACE", "IDLETIME", 3600).Err(); err != nil {
		t.Fatal(err)
	}

	value := bytes.Repeat([]byte("f"), 1<<10)
	gone := false
	for i := 0; i < 200_000 && !gone; i++ {
		if err := r.Set(ctx, "fill:"+strconv.Itoa(i), value, time.Hour); err != nil {
			t.Fatalf("fill Set %d: %v", i, err)
		}
		if i%10 == 0 {
			_, _ = r.Get(ctx, "entry") // the entry is read: the LRU keeps it longer
		}
		if i%100 == 99 {
			gone = raw.Exists(ctx, tagKey).Val() == 0
		}
	}
	if !gone {
		t.Fatal("allkeys-lru never evicted the idle tag set")
	}
	entryLeft := raw.Exists(ctx, "entry").Val() == 1
	keys, err := r.TagPurge(ctx, "product:1")
	if err != nil || len(keys) != 0 {
		t.Fatalf("TagPurge of an evicted tag set = %q, %v; want no keys, no error", keys, err)
	}
	if err := r.Delete(ctx, keys...); err != nil {
		t.Fatal(err)
	}
	if left := raw.Exists(ctx, "entry").Val() == 1; left != entryLeft {
		t.Fatalf("entry present %v before the purge, %v after; the purge cannot have touched it", entryLeft, left)
	}
	if now, err := r.TagStamps(ctx, []string{"product:1"}); err != nil || now[0] == stamps[0] {
		t.Fatalf("stamp after the purge = %q, %v; want another than the entry's %q", now, err, stamps[0])
	}
	t.Logf("tag set evicted; TagPurge returned no keys; the entry it named %s", map[bool]string{
		true: "is left, with a stamp that no longer matches (a miss to core)", false: "was evicted too"}[entryLeft])
}

// TestFaultVolatileTTLKeepsTagSets: under volatile-ttl, the README's advice, Redis evicts the
// keys closest to expiry, the entries, before the tag sets, which outlive them: after
// thousands of evictions the tag set is whole and TagPurge returns its key.
func TestFaultVolatileTTLKeepsTagSets(t *testing.T) {
	srv := redistest.Start(t, redistest.WithArgs("--maxmemory", "4mb", "--maxmemory-policy", "volatile-ttl"))
	r := newRedis(t, srv, redisstore.Options{Timeout: time.Second})
	if err := r.Set(ctx, "entry", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	// core indexes an entry for its lifetime plus a margin: the set outlives the entry.
	if err := r.TagAdd(ctx, []string{"product:1"}, "entry", 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	fill(t, r, srv, 2000, time.Minute)
	keys, err := r.TagPurge(ctx, "product:1")
	if err != nil || len(keys) != 1 || keys[0] != "entry" {
		t.Fatalf("TagPurge after 2,000 volatile-ttl evictions = %q, %v; want [entry]", keys, err)
	}
}

// TestFaultPubSubKilled: CLIENT KILL TYPE pubsub drops the subscriber's connection; it
// reconnects by itself, calls live(true) (the cache then drops its L1), and delivers the
// messages published afterwards.
func TestFaultPubSubKilled(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, srv, redisstore.Options{})
	var mu sync.Mutex
	var got []string
	reconnected := make(chan struct{}, 10)
	stop := r.Subscribe(func(msg []byte) {
		mu.Lock()
		got = append(got, string(msg))
		mu.Unlock()
	}, func(up bool) {
		if up {
			reconnected <- struct{}{}
		}
	})
	defer stop()
	select {
	case <-reconnected: // live once subscribed
	case <-time.After(5 * time.Second):
		t.Fatal("live(true) not called once subscribed")
	}
	received := func(want string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range got {
			if m == want {
				return true
			}
		}
		return false
	}
	if err := r.Publish(ctx, []byte("before")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "the message published before the kill", func() bool { return received("before") })

	n, err := srv.Client(t).ClientKillByFilter(ctx, "TYPE", "pubsub").Result()
	if err != nil || n != 1 {
		t.Fatalf("CLIENT KILL TYPE pubsub = %d, %v; want 1 connection killed", n, err)
	}
	select {
	case <-reconnected:
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber did not call reconnected within 10 s of its connection being killed")
	}
	// reconnected is called once subscribed again: what is published now arrives.
	if err := r.Publish(ctx, []byte("after")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "the message published after the reconnection", func() bool { return received("after") })
	if len(reconnected) != 0 {
		t.Fatalf("reconnected called %d more times after one kill", len(reconnected))
	}
}

// waitUntil polls cond every 10 ms for up to within.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFaultSIGSTOPMidCall: the server is frozen (SIGSTOP) while calls are in flight. Every
// call returns within its Timeout (plus scheduling slack) with ErrTimeout, or at once with
// ErrUnavailable once the breaker has opened, which it does although the window was full of
// successes a moment before; after SIGCONT the probe closes it.
func TestFaultSIGSTOPMidCall(t *testing.T) {
	srv := redistest.Start(t)
	const timeout = 50 * time.Millisecond
	r := newRedis(t, srv, redisstore.Options{Timeout: timeout, BreakerWindow: time.Second, BreakerCooldown: 200 * time.Millisecond})
	if err := r.Set(ctx, "k", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}

	var paused atomic.Bool
	var slowest atomic.Int64
	var bad atomic.Value
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				start := time.Now()
				_, err := r.Get(ctx, "k")
				d := time.Since(start)
				if !paused.Load() {
					continue // calls racing the pause may do either
				}
				if d > time.Duration(slowest.Load()) {
					slowest.Store(int64(d))
				}
				if !errors.Is(err, store.ErrTimeout) && !errors.Is(err, store.ErrUnavailable) {
					bad.CompareAndSwap(nil, fmt.Sprintf("call during the pause = %v", err))
				}
				if errors.Is(err, store.ErrUnavailable) {
					time.Sleep(time.Millisecond) // refused at once: do not spin
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // calls succeed, filling the window
	srv.Pause()
	t.Cleanup(srv.Resume)
	time.Sleep(5 * time.Millisecond) // calls sent before the pause are answered or in flight
	paused.Store(true)
	opened := time.Now()
	waitUntil(t, 5*time.Second, "the breaker to open on a frozen server", func() bool { return !r.Healthy() })
	t.Logf("breaker open %s after the pause, %+v", time.Since(opened).Round(time.Millisecond), r.Stats())
	close(done)
	wg.Wait()
	if v := bad.Load(); v != nil {
		t.Fatal(v)
	}
	if d := time.Duration(slowest.Load()); d > timeout+slack {
		t.Fatalf("a call to the frozen server took %s, want at most %s + %s", d, timeout, slack)
	}
	if st := r.Stats(); st.Timeouts == 0 || st.BreakerOpens != 1 || st.Rejected == 0 {
		t.Fatalf("Stats() = %+v; want timeouts, one opening, rejected calls", st)
	}
	srv.Resume()
	waitHealthy(t, r, 10*time.Second)
	if got, err := r.Get(ctx, "k"); err != nil || string(got) != "v" {
		t.Fatalf("Get after SIGCONT = %q, %v", got, err)
	}
}
