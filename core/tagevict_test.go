package core

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/internal/redistest"
)

// Issue 17, item 3: tag purges stay correct whatever Redis evicts. Under allkeys-lru Redis
// evicts the tag sets (read only by purges) before the entries they name (read on every L2
// hit); a purge then finds no keys. The entries must still never be served after the purge,
// from L1 or L2, on the purging instance or another one.

// TestTagPurgeAllkeysLRU stores 100 tagged query variants and a list through one instance,
// lets a second instance read half of them, forces Redis to evict the tag set (and, in the
// second case, the tag's stamp too), purges the tag and asserts that neither instance serves
// a single stale answer.
func TestTagPurgeAllkeysLRU(t *testing.T) {
	for _, evictStamp := range []bool{false, true} {
		t.Run("evict-stamp="+strconv.FormatBool(evictStamp), func(t *testing.T) {
			testTagPurgeEvicted(t, evictStamp)
		})
	}
}

func testTagPurgeEvicted(t *testing.T, evictStamp bool) {
	ctx := context.Background()
	srv := redistest.Start(t, redistest.WithArgs("--maxmemory", "8mb", "--maxmemory-policy", "allkeys-lru", "--maxmemory-samples", "64"))
	raw := srv.Client(t)
	var version atomic.Int64
	version.Store(1)
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, s-maxage=600")
		tag := "category:c"
		if r.URL.Path == "/other" {
			tag = "other"
		}
		w.Header().Set("Surrogate-Key", tag)
		_, _ = fmt.Fprintf(w, "v%d %s", version.Load(), r.URL.RequestURI())
	}
	f := newFleet(t, raw, 2, Config{Namespace: "ev"}, h, redisOpts{Timeout: slowTolerant})
	a, b := f.h[0], f.h[1]

	urls := []string{"/products?category=c"}
	for i := range 100 {
		urls = append(urls, "/products?category=c&q="+strconv.Itoa(i))
	}
	for _, u := range urls {
		if cs := do(t, a, "GET", u).Header().Get("Cache-Status"); !strings.Contains(cs, "stored") {
			t.Fatalf("A %s: Cache-Status %q, want stored", u, cs)
		}
	}
	// Push the entries out of the instances' memory of their late writes (fence.go: the
	// last tagFenceSize tagged L2 writes of the last lateWindow), which a purge deletes again
	// whatever the tag index says: in production the purge comes minutes after the fills.
	for i := range tagFenceSize + 10 {
		do(t, a, "GET", "/other?i="+strconv.Itoa(i))
	}
	tagKey := "ev:tag:{category:c}"
	if _, ok := waitFor(5*time.Second, func() bool { return raw.SCard(ctx, tagKey).Val() == int64(len(urls)) }); !ok {
		t.Fatalf("tag set holds %d keys, want %d", raw.SCard(ctx, tagKey).Val(), len(urls))
	}
	entryKeys := raw.SMembers(ctx, tagKey).Val()
	for i, u := range urls {
		if i%2 == 0 {
			if w := do(t, b, "GET", u); !strings.HasPrefix(w.Header().Get("Cache-Status"), "strata; hit") {
				t.Fatalf("B %s: Cache-Status %q, want an L2 hit", u, w.Header().Get("Cache-Status"))
			}
		}
	}

	evictTagKeys(t, raw, entryKeys, tagKey, evictStamp)
	left := 0
	for _, k := range entryKeys {
		if raw.Exists(ctx, k).Val() == 1 {
			left++
		}
	}
	if left < len(entryKeys)/2 {
		t.Fatalf("only %d of %d entries left in Redis: the test needs the entries to outlive their tag set", left, len(entryKeys))
	}

	version.Store(2)
	if _, err := f.caches[0].PurgeTags(ctx, "category:c"); err != nil {
		t.Fatal(err)
	}
	// B hears of the purge on the bus (the T message, after the fleet's purge): its L1
	// copies go then.
	if _, ok := waitFor(5*time.Second, func() bool { return f.caches[1].l1.Len() == 0 }); !ok {
		t.Fatalf("B's L1 still holds %d entries 5 s after the purge", f.caches[1].l1.Len())
	}
	stale := 0
	for name, h := range map[string]http.Handler{"A": a, "B": b} {
		for _, u := range urls {
			w := do(t, h, "GET", u)
			if got := body(w); got != "v2 "+u {
				stale++
				t.Errorf("%s %s after the purge: %q (Cache-Status %q), want v2", name, u, got, w.Header().Get("Cache-Status"))
			}
		}
	}
	t.Logf("tag set evicted (stamp evicted: %v), %d of %d entries left in Redis; after the purge %d stale answers of %d",
		evictStamp, left, len(entryKeys), stale, 2*len(urls))
}

// evictTagKeys makes Redis evict the tag set (and the stamp when evictStamp) by filling it
// with 1 KiB values while the entries stay read, as a live cache reads them (64 samples make
// the approximate LRU close to exact, so the entries outlive the fill on a slow machine too). RESTORE ...
// IDLETIME ages the keys to evict, so that the LRU picks them once sampled.
func evictTagKeys(t *testing.T, raw *redis.Client, entries []string, tagKey string, evictStamp bool) {
	t.Helper()
	ctx := context.Background()
	age := []string{tagKey}
	stampKey := strings.Replace(tagKey, ":tag:", ":tagv:", 1)
	if evictStamp {
		age = append(age, stampKey)
	}
	for _, k := range age {
		dump, err := raw.Dump(ctx, k).Result()
		if err == redis.Nil {
			continue // no such key (the stamp, before stamps existed)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := raw.Do(ctx, "RESTORE", k, time.Hour.Milliseconds(), dump, "REPLACE", "IDLETIME", 3600).Err(); err != nil {
			t.Fatal(err)
		}
	}
	value := bytes.Repeat([]byte("f"), 1<<10)
	gone := func() bool {
		for _, k := range age {
			if raw.Exists(ctx, k).Val() == 1 {
				return false
			}
		}
		return true
	}
	for i := 0; i < 200_000; i++ {
		if err := raw.Set(ctx, "fill:"+strconv.Itoa(i), value, time.Hour).Err(); err != nil {
			t.Fatalf("fill Set %d: %v", i, err)
		}
		if i%200 == 0 {
			p := raw.Pipeline()
			for _, k := range entries {
				p.Get(ctx, k) // the entries are read: the LRU keeps them
			}
			if !evictStamp {
				p.Get(ctx, stampKey) // read on every L2 hit of a tagged entry
			}
			_, _ = p.Exec(ctx)
		}
		if i%100 == 99 && gone() {
			return
		}
	}
	t.Fatal("allkeys-lru never evicted the idle tag keys")
}

// stampingFake is the fake fleet (fake_test.go) with tag stamps, whose tag sets a test can
// lose, as Redis evicts them.
type stampingFake struct {
	*fakeShared
	mu         sync.Mutex
	stamps     map[string]string
	next       int
	failStamps atomic.Bool // TagStamps fails
}

var _ TagStamper = (*stampingFake)(nil)

func (s *stampingFake) TagAddStamped(ctx context.Context, tags []string, key string, ttl time.Duration) ([]string, error) {
	if err := s.TagAdd(ctx, tags, key, ttl); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(tags))
	for i, t := range tags {
		if s.stamps[t] == "" {
			s.next++
			s.stamps[t] = "s" + strconv.Itoa(s.next)
		}
		out[i] = s.stamps[t]
	}
	return out, nil
}

func (s *stampingFake) TagStamps(ctx context.Context, tags []string) ([]string, error) {
	if _, err := s.enter(ctx, "tagstamps", ""); err != nil {
		return nil, err
	}
	if s.failStamps.Load() {
		return nil, errFakeDown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = s.stamps[t]
	}
	return out, nil
}

func (s *stampingFake) TagPurge(ctx context.Context, tags ...string) ([]string, error) {
	keys, err := s.fakeShared.TagPurge(ctx, tags...)
	if err == nil {
		s.mu.Lock()
		for _, t := range tags {
			delete(s.stamps, t)
		}
		s.mu.Unlock()
	}
	return keys, err
}

// loseTagSets drops every tag set, as an allkeys-lru Redis does to sets nobody reads.
func (s *stampingFake) loseTagSets() {
	s.fakeShared.mu.Lock()
	clear(s.tags)
	s.fakeShared.mu.Unlock()
}

// TestTagStampsFake: on a fake fleet that loses its tag sets, a purge by tag still reaches
// the L2 entries (their stamps no longer match) and the L1 copies of both instances (their
// own indexes); a stamp that cannot be read is a miss that keeps the entry.
func TestTagStampsFake(t *testing.T) {
	clk := newClock()
	sf := &stampingFake{fakeShared: newFakeShared(clk.Now), stamps: map[string]string{}}
	var cs []*Cache
	for range 2 {
		c, err := New(Config{L2: sf, Clock: clk.Now, Jitter: -1, Beta: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		cs = append(cs, c)
	}
	v := 1
	oa, ob := newOrigin(pathHandler(&v)), newOrigin(pathHandler(&v))
	a, b := cs[0].Middleware(oa), cs[1].Middleware(ob)
	for _, p := range []string{"/x", "/y"} {
		do(t, a, "GET", p)
	}
	if w := do(t, b, "GET", "/x"); !strings.HasPrefix(w.Header().Get("Cache-Status"), "strata; hit") {
		t.Fatalf("B /x: %q, want an L2 hit", w.Header().Get("Cache-Status"))
	}
	sf.loseTagSets()
	v = 2
	if _, err := cs[0].PurgeTags(context.Background(), "all"); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]http.Handler{"A": a, "B": b} {
		for _, p := range []string{"/x", "/y"} {
			if w := do(t, h, "GET", p); body(w) != "v2 "+p {
				t.Fatalf("%s %s after the purge: %q (%q), want v2", name, p, body(w), w.Header().Get("Cache-Status"))
			}
		}
	}

	// A stamp read that fails: the entry cannot be checked, so it is a miss, and it stays.
	do(t, a, "GET", "/z")
	sf.failStamps.Store(true)
	var deletes atomic.Int64
	sf.set(fault{hook: func(op, _ string) {
		if op == "delete" {
			deletes.Add(1)
		}
	}})
	if w := do(t, b, "GET", "/z"); !strings.Contains(w.Header().Get("Cache-Status"), "fwd=uri-miss") {
		t.Fatalf("B /z with the stamps unreadable: %q, want a miss", w.Header().Get("Cache-Status"))
	}
	if n := deletes.Load(); n != 0 {
		t.Fatalf("%d L2 deletes for an entry whose stamps could not be read, want none", n)
	}
}

// redisCalls counts the commands and pipelines a client sends (each one round trip).
type redisCalls struct{ n atomic.Int64 }

func (*redisCalls) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *redisCalls) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *redisCalls) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { c.n.Add(1); return next(ctx, cmds) }
}

// BenchmarkL2HitTagged is an L2 hit (L1 disabled) of a 1 KiB entry with no tag, one tag and
// three tags: the cost of checking the tags' stamps (tagstamp.go). It reports the Redis round
// trips per hit: one for an untagged entry (the GET), two for a tagged one (GET, MGET).
func BenchmarkL2HitTagged(b *testing.B) {
	srv := redistest.Start(b)
	client := srv.Client(b)
	var calls redisCalls
	client.AddHook(&calls)
	body := benchJSON(1 << 10)
	for i, tags := range []string{"", "product:1", "product:1 category:c shop:s"} {
		name := strconv.Itoa(len(strings.Fields(tags))) + "-tags"
		c := benchCache(b, withRedis(b, Config{DisableL1: true, Namespace: "tb" + strconv.Itoa(i)}, client, redisOpts{}))
		h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tags != "" {
				w.Header().Set("Surrogate-Key", tags)
			}
			benchBare(body)(w, r)
		}))
		r := httptest.NewRequest(http.MethodGet, "/products/1", nil)
		benchPrime(b, h, r, "stored")
		benchPrime(b, h, r, "hit")
		b.Run(name, func(b *testing.B) {
			w := newBenchWriter()
			b.ReportAllocs()
			before := calls.n.Load()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, r)
			}
			b.ReportMetric(float64(calls.n.Load()-before)/float64(b.N), "redis-calls/op")
			if w.status != http.StatusOK || w.n != len(body) {
				b.Fatalf("status %d, %d bytes", w.status, w.n)
			}
		})
	}
}
