package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/store/redisstore"
)

// Scenarios shared by the single-node and the Cluster tests. a and b are
// two stores (two "instances" of an application) on the same Redis; raw is
// a plain client for inspection.

func uniqueKey(t *testing.T, name string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "test:{" + hex.EncodeToString(b[:]) + "}:" + name
}

func lockScenario(t *testing.T, a, b *redisstore.Store) {
	key := uniqueKey(t, "lock")

	tokA, ok, err := a.Lock(ctx, key, 5*time.Second)
	if err != nil || !ok || len(tokA) != 32 {
		t.Fatalf("a.Lock = %q, %v, %v; want a 32-digit token", tokA, ok, err)
	}
	if tok, ok, err := b.Lock(ctx, key, 5*time.Second); ok || err != nil || tok != "" {
		t.Fatalf("b.Lock of a held lock = %q, %v, %v; want \"\", false, nil", tok, ok, err)
	}

	// The wrong token neither releases nor extends it.
	if err := b.Unlock(ctx, key, "not-the-token"); err != nil {
		t.Fatalf("Unlock with a wrong token = %v, want nil", err)
	}
	if ok, err := b.Extend(ctx, key, "not-the-token", time.Minute); ok || err != nil {
		t.Fatalf("Extend with a wrong token = %v, %v; want false, nil", ok, err)
	}
	if _, ok, _ := b.Lock(ctx, key, 5*time.Second); ok {
		t.Fatal("lock taken after an Unlock with the wrong token")
	}

	// The holder extends and releases it.
	if ok, err := a.Extend(ctx, key, tokA, 10*time.Second); !ok || err != nil {
		t.Fatalf("Extend by the holder = %v, %v", ok, err)
	}
	if err := a.Unlock(ctx, key, tokA); err != nil {
		t.Fatal(err)
	}
	tokB, ok, err := b.Lock(ctx, key, 100*time.Millisecond)
	if !ok || err != nil {
		t.Fatalf("b.Lock after release = %v, %v", ok, err)
	}
	if tokB == tokA {
		t.Fatal("two locks got the same token")
	}
	// A stale holder's Unlock does nothing to the new holder.
	if err := a.Unlock(ctx, key, tokA); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Lock(ctx, key, time.Second); ok {
		t.Fatal("stale Unlock released the new holder's lock")
	}

	// Expiry frees it; Extend then reports the loss.
	time.Sleep(250 * time.Millisecond)
	if ok, err := b.Extend(ctx, key, tokB, time.Second); ok || err != nil {
		t.Fatalf("Extend of an expired lock = %v, %v; want false, nil", ok, err)
	}
	if _, ok, err := a.Lock(ctx, key, time.Second); !ok || err != nil {
		t.Fatalf("Lock after expiry = %v, %v", ok, err)
	}

	if _, _, err := a.Lock(ctx, key, 0); err == nil {
		t.Fatal("Lock with ttl 0 succeeded")
	}
}

// lockRaceScenario: many lockers at once, exactly one wins.
func lockRaceScenario(t *testing.T, stores ...*redisstore.Store) {
	key := uniqueKey(t, "race")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := stores[i%len(stores)].Lock(ctx, key, 5*time.Second)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d lockers won, want 1", wins.Load())
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func wantMembers(t *testing.T, r *redisstore.Store, tag string, want ...string) {
	t.Helper()
	got, err := r.TagMembers(ctx, tag)
	if err != nil {
		t.Fatalf("TagMembers(%q): %v", tag, err)
	}
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("TagMembers(%q) = %q, want %q", tag, sorted(got), sorted(want))
	}
}

func pttl(t *testing.T, raw redis.UniversalClient, key string) time.Duration {
	t.Helper()
	d, err := raw.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func tagScenario(t *testing.T, r *redisstore.Store, raw redis.UniversalClient) {
	id := uniqueKey(t, "")
	tagA, tagB, tagC := id+"product:1", id+"category:shoes", id+"persistent"
	k1, k2, k3, k4 := id+"k1", id+"k2", id+"k3", id+"k4"

	if err := r.TagAdd(ctx, []string{tagA, tagB}, k1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := r.TagAdd(ctx, []string{tagA}, k2, time.Minute); err != nil {
		t.Fatal(err)
	}
	wantMembers(t, r, tagA, k1, k2)
	wantMembers(t, r, tagB, k1)
	wantMembers(t, r, id+"never-used")

	// A new set gets the entry's TTL (PEXPIRE GT alone would leave it
	// without expiry) ...
	if d := pttl(t, raw, r.TagKey(tagB)); d <= 55*time.Second || d > time.Minute {
		t.Fatalf("PTTL of a new tag set = %s, want about 1m", d)
	}
	// ... a shorter entry does not shorten it ...
	if err := r.TagAdd(ctx, []string{tagA}, k3, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := pttl(t, raw, r.TagKey(tagA)); d <= 55*time.Second {
		t.Fatalf("PTTL after adding a shorter-lived key = %s, want it kept at about 1m", d)
	}
	// ... a longer one lengthens it.
	if err := r.TagAdd(ctx, []string{tagA}, k4, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	if d := pttl(t, raw, r.TagKey(tagA)); d <= 4*time.Minute {
		t.Fatalf("PTTL after adding a longer-lived key = %s, want about 5m", d)
	}
	// ttl <= 0: no expiry, and it stays so.
	if err := r.TagAdd(ctx, []string{tagC}, k1, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.TagAdd(ctx, []string{tagC}, k2, time.Minute); err != nil {
		t.Fatal(err)
	}
	if d := pttl(t, raw, r.TagKey(tagC)); d != -1 {
		t.Fatalf("PTTL of a set with a no-expiry member = %s, want -1 (none)", d)
	}
	if err := r.TagAdd(ctx, nil, k1, time.Minute); err != nil {
		t.Fatalf("TagAdd with no tags: %v", err)
	}

	// Purge returns each key once and deletes the sets.
	keys, err := r.TagPurge(ctx, tagA, tagB, id+"never-used")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{k1, k2, k3, k4}; !slices.Equal(sorted(keys), want) {
		t.Fatalf("TagPurge = %q, want %q", sorted(keys), want)
	}
	wantMembers(t, r, tagA)
	wantMembers(t, r, tagB)
	if n := raw.Exists(ctx, r.TagKey(tagA), r.TagKey(tagB)).Val(); n != 0 {
		t.Fatalf("%d tag sets left after TagPurge", n)
	}
	if keys, err := r.TagPurge(ctx); keys != nil || err != nil {
		t.Fatalf("TagPurge() = %q, %v; want nil, nil", keys, err)
	}

	if err := r.TagDelete(ctx, tagC, tagA); err != nil {
		t.Fatal(err)
	}
	wantMembers(t, r, tagC)

	// The scripts survive a flushed script cache (as after a restart).
	flushScripts(t, raw)
	if err := r.TagAdd(ctx, []string{tagA, tagB}, k1, time.Minute); err != nil {
		t.Fatalf("TagAdd after SCRIPT FLUSH: %v", err)
	}
	flushScripts(t, raw)
	if keys, err := r.TagPurge(ctx, tagA, tagB); err != nil || !slices.Equal(keys, []string{k1}) {
		t.Fatalf("TagPurge after SCRIPT FLUSH = %q, %v", keys, err)
	}
	flushScripts(t, raw)
	if tok, ok, err := r.Lock(ctx, k1, time.Second); !ok || err != nil {
		t.Fatal(err)
	} else if err := r.Unlock(ctx, k1, tok); err != nil {
		t.Fatalf("Unlock after SCRIPT FLUSH: %v", err)
	}
}

func flushScripts(t *testing.T, raw redis.UniversalClient) {
	t.Helper()
	var err error
	if cc, ok := raw.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return c.ScriptFlush(ctx).Err()
		})
	} else {
		err = raw.ScriptFlush(ctx).Err()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// collector gathers messages from Subscribe.
type collector struct {
	mu   sync.Mutex
	msgs []string
	ch   chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1)} }

func (c *collector) handle(msg []byte) {
	c.mu.Lock()
	c.msgs = append(c.msgs, string(msg))
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

func (c *collector) has(msg string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.msgs, msg)
}

// publishUntil publishes msg every 50 ms until every collector got it.
func publishUntil(t *testing.T, pub *redisstore.Store, msg string, within time.Duration, cs ...*collector) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_ = pub.Publish(ctx, []byte(msg))
		done := true
		for _, c := range cs {
			if !c.has(msg) {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %q not delivered within %s", msg, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pubsubScenario(t *testing.T, a, b *redisstore.Store) {
	ca, cb := newCollector(), newCollector()
	stopA := a.Subscribe(ca.handle, nil)
	defer stopA()
	stopB := b.Subscribe(cb.handle, nil)
	publishUntil(t, a, "ready", 5*time.Second, ca, cb)

	msg := "purge " + a.InstanceID() + " /products/1"
	if err := a.Publish(ctx, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !ca.has(msg) || !cb.has(msg) {
		if time.Now().After(deadline) {
			t.Fatalf("%q not delivered to both subscribers (a: %v, b: %v)", msg, ca.has(msg), cb.has(msg))
		}
		time.Sleep(10 * time.Millisecond)
	}

	// After stop, no more messages reach b's handler.
	stopB()
	stopB() // idempotent
	if err := a.Publish(ctx, []byte("after stop")); err != nil {
		t.Fatal(err)
	}
	publishUntil(t, a, "after stop", 5*time.Second, ca)
	if cb.has("after stop") {
		t.Fatal("handler called after stop")
	}
}
