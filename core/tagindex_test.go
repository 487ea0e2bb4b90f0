package core

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// check verifies the index's invariants: every key is in the sets it names and in the FIFO
// once, every set holds only keys that name it, and the byte count is the sum of the costs.
func (t *tagIndex) check(tb testing.TB) {
	tb.Helper()
	t.mu.Lock()
	defer t.mu.Unlock()
	bytes, inList := 0, 0
	for k := t.head; k != nil; k = k.next {
		if t.keys[k.key] != k {
			tb.Fatalf("FIFO key %q not in the key map", k.key)
		}
		if k.next == nil && t.tail != k {
			tb.Fatalf("tail is not the last key")
		}
		inList++
	}
	if inList != len(t.keys) || int(t.n.Load()) != len(t.keys) {
		tb.Fatalf("FIFO holds %d keys, map %d, count %d", inList, len(t.keys), t.n.Load())
	}
	links := map[*tagSet]int{}
	for _, k := range t.keys {
		if k.cost != tagKeyCost+len(k.key)+tagLinkCost*len(k.tags) {
			tb.Fatalf("key %q costs %d with %d tags", k.key, k.cost, len(k.tags))
		}
		bytes += k.cost
		for _, s := range k.tags {
			if t.tags[s.name] != s || !s.has(k) {
				tb.Fatalf("key %q names tag %q, which does not hold it", k.key, s.name)
			}
			links[s]++
		}
	}
	for name, s := range t.tags {
		if s.len() == 0 || s.len() != links[s] {
			tb.Fatalf("tag %q holds %d keys, %d name it", name, s.len(), links[s])
		}
		bytes += tagSetCost + len(name)
		if s.more != nil {
			bytes += tagMapCost
		}
	}
	if bytes != t.bytes {
		tb.Fatalf("bytes %d, recomputed %d", t.bytes, bytes)
	}
}

func sortedPurge(t *tagIndex, tags ...string) []string {
	out := t.purge(tags)
	slices.Sort(out)
	return out
}

// TestTagIndexCopiesStrings: the tags of a decoded entry alias its encoded buffer; the index
// must keep copies, correct after the buffer is reused, and must not keep the buffer alive.
func TestTagIndexCopiesStrings(t *testing.T) {
	ix := newTagIndex(1000, 1<<20, nil)
	e := entry{status: 200, key: "G4:http", tags: []string{"category:books", "product:42"}, body: make([]byte, 1<<20)}
	raw := e.encode(nil)
	var d entry
	if err := decodeEntry(raw, &d); err != nil {
		t.Fatal(err)
	}
	keyBuf := []byte("strata:{k42}:1")
	key := unsafeString(keyBuf)
	ix.add(d.tags, key)

	// The buffer is freed once nothing but the index saw it.
	freed := make(chan struct{})
	runtime.AddCleanup(&raw[0], func(ch chan struct{}) { close(ch) }, freed)
	for i := range raw {
		raw[i] = 'X' // as a reused buffer would be
	}
	for i := range keyBuf {
		keyBuf[i] = 'Y'
	}
	raw, d = nil, entry{}
	for i := 0; ; i++ {
		runtime.GC()
		select {
		case <-freed:
		case <-time.After(10 * time.Millisecond):
			if i < 50 {
				continue
			}
			t.Fatal("the encoded entry is still reachable: the index keeps strings that alias it")
		}
		break
	}
	ix.check(t)
	if got := sortedPurge(ix, "product:42"); !slices.Equal(got, []string{"strata:{k42}:1"}) {
		t.Fatalf("purge(product:42) = %q after the buffers were overwritten", got)
	}
	if k, tags, _ := ix.size(); k != 0 || tags != 0 {
		t.Fatalf("after the purge: %d keys, %d tags; want none (the purge removes the key from every tag)", k, tags)
	}
}

// unsafeString aliases b, as the strings of a decoded entry alias its buffer.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// hotLen counts the hot set's entries.
func (h *hotSet) len() int {
	n := 0
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// TestTagIndexBoundKeys: past maxKeys the oldest keys leave, and are handed to drop.
func TestTagIndexBoundKeys(t *testing.T) {
	var dropped []string
	ix := newTagIndex(100, 1<<30, func(keys []string) { dropped = append(dropped, keys...) })
	for i := range 150 {
		ix.add([]string{"t" + strconv.Itoa(i), "all"}, "k"+strconv.Itoa(i))
		if n, _, _ := ix.size(); n > 100 {
			t.Fatalf("%d keys after %d adds, bound 100", n, i+1)
		}
	}
	ix.check(t)
	want := make([]string, 50)
	for i := range want {
		want[i] = "k" + strconv.Itoa(i)
	}
	if !slices.Equal(dropped, want) {
		t.Fatalf("dropped %q, want the 50 oldest", dropped)
	}
	if got := ix.purge([]string{"t0", "t49"}); len(got) != 0 {
		t.Fatalf("purge of dropped keys' tags = %q, want none (they were deleted when dropped)", got)
	}
	if got := ix.purge([]string{"all"}); len(got) != 100 {
		t.Fatalf("purge(all) = %d keys, want 100", len(got))
	}
	ix.check(t)
}

// TestTagIndexBoundBytes: the estimated bytes never pass maxBytes; the oldest keys leave
// first; a key whose tags alone pass the bound is not kept (and is dropped from the L1).
func TestTagIndexBoundBytes(t *testing.T) {
	const maxBytes = 10_000
	var dropped []string
	ix := newTagIndex(1<<30, maxBytes, func(keys []string) { dropped = append(dropped, keys...) })
	for i := range 1000 {
		ix.add([]string{"product:" + strconv.Itoa(i), "category:" + strconv.Itoa(i%3)}, "strata:{key}:"+strconv.Itoa(i))
		if _, _, b := ix.size(); b > maxBytes {
			t.Fatalf("%d bytes after %d adds, bound %d", b, i+1, maxBytes)
		}
	}
	ix.check(t)
	n, _, _ := ix.size()
	if n < 10 || len(dropped) != 1000-n {
		t.Fatalf("%d keys kept, %d dropped, of 1000", n, len(dropped))
	}
	for i, k := range dropped {
		if k != "strata:{key}:"+strconv.Itoa(i) {
			t.Fatalf("dropped[%d] = %q: not the oldest first", i, k)
		}
	}
	if got := ix.purge([]string{"product:999"}); !slices.Equal(got, []string{"strata:{key}:999"}) {
		t.Fatalf("purge(product:999) = %q", got)
	}

	dropped = nil
	huge := make([]string, 500)
	for i := range huge {
		huge[i] = fmt.Sprintf("tag-%03d-%s", i, strings.Repeat("x", 20))
	}
	ix.add(huge, "huge")
	if !slices.Contains(dropped, "huge") {
		t.Fatalf("a key whose tags pass the bound was kept (dropped %d keys: %q…)", len(dropped), dropped[:min(3, len(dropped))])
	}
	if n, tags, b := ix.size(); n != 0 || tags != 0 || b != 0 {
		t.Fatalf("after the huge key: %d keys, %d tags, %d bytes; want an empty index", n, tags, b)
	}
	ix.check(t)
}

// TestTagIndexForget: a key that left the L1 leaves the index, with the tags only it held.
func TestTagIndexForget(t *testing.T) {
	ix := newTagIndex(1000, 1<<20, nil)
	ix.add([]string{"a", "shared"}, "k1")
	ix.add([]string{"b", "shared"}, "k2")
	ix.forget("k1")
	ix.forget("missing")
	ix.check(t)
	if n, tags, _ := ix.size(); n != 1 || tags != 2 {
		t.Fatalf("after forget: %d keys, %d tags; want 1 key (k2), 2 tags (b, shared)", n, tags)
	}
	if got := sortedPurge(ix, "a", "shared"); !slices.Equal(got, []string{"k2"}) {
		t.Fatalf("purge(a, shared) = %q, want [k2]", got)
	}
	ix.forget("k2")
	if n, tags, b := ix.size(); n != 0 || tags != 0 || b != 0 {
		t.Fatalf("empty index holds %d keys, %d tags, %d bytes", n, tags, b)
	}
}

// TestTagIndexStoredAgain: a key stored again keeps its earlier tags (a purge by either
// finds it) and becomes the newest.
func TestTagIndexStoredAgain(t *testing.T) {
	var dropped []string
	ix := newTagIndex(2, 1<<20, func(keys []string) { dropped = append(dropped, keys...) })
	ix.add([]string{"old"}, "k1")
	ix.add([]string{"x"}, "k2")
	ix.add([]string{"new", "old"}, "k1")
	ix.add([]string{"y"}, "k3")
	ix.check(t)
	if !slices.Equal(dropped, []string{"k2"}) {
		t.Fatalf("dropped %q, want [k2] (k1 was stored again after it)", dropped)
	}
	if got := sortedPurge(ix, "old"); !slices.Equal(got, []string{"k1"}) {
		t.Fatalf("purge(old) = %q", got)
	}
	if got := sortedPurge(ix, "new"); len(got) != 0 {
		t.Fatalf("purge(new) after purge(old) = %q: the purge must remove the key from every tag", got)
	}
	ix.check(t)
}

// TestTagIndexPurgeSeesPending: keys dropped for room are returned by a purge until drop has
// deleted them, so a purge never misses an entry still in the L1.
func TestTagIndexPurgeSeesPending(t *testing.T) {
	var ix *tagIndex
	var during []string
	ix = newTagIndex(1, 1<<20, func(keys []string) {
		during = ix.purge([]string{"unrelated"}) // what a concurrent purge sees
		for _, k := range keys {
			ix.forget(k) // the L1 delete's callback
		}
	})
	ix.add([]string{"a"}, "k1")
	ix.add([]string{"b"}, "k2")
	if !slices.Equal(during, []string{"k1"}) {
		t.Fatalf("a purge while k1 is being dropped returned %q, want [k1]", during)
	}
	if got := ix.purge([]string{"a"}); len(got) != 0 {
		t.Fatalf("purge after the drop = %q, want none", got)
	}
	ix.check(t)
}

// TestTagIndexCostEstimate keeps the cost constants honest: the estimate must not be below
// the heap the index really holds (the bound would not bound), nor far above it.
func TestTagIndexCostEstimate(t *testing.T) {
	shapes := map[string]func(i int) []string{
		"one tag of its own":       func(i int) []string { return []string{"product:" + strconv.Itoa(i)} },
		"own tag and a shared one": func(i int) []string { return []string{"category:" + strconv.Itoa(i%5), "product:" + strconv.Itoa(i)} },
		"a shared tag":             func(i int) []string { return []string{"category:" + strconv.Itoa(i%5)} },
		"three tags of its own": func(i int) []string {
			return []string{"a:" + strconv.Itoa(i), "b:" + strconv.Itoa(i), "c:" + strconv.Itoa(i)}
		},
		"a tag shared by a key pair": func(i int) []string { return []string{"pair:" + strconv.Itoa(i/2)} },
	}
	for name, tagsOf := range shapes {
		t.Run(name, func(t *testing.T) {
			const n = 50_000
			keys := make([]string, n)
			tags := make([][]string, n)
			for i := range n {
				keys[i] = "strata:{0123456789abcdef}:1:" + strconv.Itoa(i)
				tags[i] = tagsOf(i)
			}
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			ix := newTagIndex(1<<30, 1<<40, nil)
			for i := range n {
				ix.add(tags[i], keys[i])
			}
			runtime.GC()
			runtime.ReadMemStats(&m1)
			_, _, est := ix.size()
			heap := int64(m1.HeapAlloc) - int64(m0.HeapAlloc)
			runtime.KeepAlive(ix)
			runtime.KeepAlive(keys)
			runtime.KeepAlive(tags)
			t.Logf("heap %d B/key, estimate %d B/key", heap/n, est/n)
			if int64(est) < heap || int64(est) > 2*heap {
				t.Errorf("estimate %d bytes for a heap of %d: want between 1 and 2 times the heap", est, heap)
			}
		})
	}
}

// TestTagIndexConcurrent runs adds, forgets (as the L1's callback does, also from drop),
// purges and resets at once, for the race detector and the invariants.
func TestTagIndexConcurrent(t *testing.T) {
	var ix *tagIndex
	ix = newTagIndex(200, 40_000, func(keys []string) {
		for _, k := range keys {
			ix.forget(k)
		}
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1)) //nolint:gosec // G404: a reproducible test workload, not a secret
			for i := range 5000 {
				k := strconv.Itoa(r.IntN(500))
				switch op := r.IntN(100); {
				case op < 70:
					ix.add([]string{"k" + k, "g" + strconv.Itoa(r.IntN(10))}, k)
				case op < 90:
					ix.forget(k)
				case op < 99:
					ix.purge([]string{"g" + strconv.Itoa(r.IntN(10)), "k" + k})
				default:
					if i%10 == 0 {
						ix.reset()
					}
				}
			}
		}()
	}
	wg.Wait()
	ix.check(t)
	if n, _, b := ix.size(); n > 200 || b > 40_000 {
		t.Fatalf("%d keys, %d bytes: past the bounds", n, b)
	}
	if len(ix.pending) != 0 {
		t.Fatalf("%d keys still pending after every add returned", len(ix.pending))
	}
}

// ---- through the cache ----

// taggedCache serves /{name} with a body of n bytes, tagged with the path.
func taggedCache(t *testing.T, cfg Config, n int) (*Cache, *origin, http.Handler) {
	t.Helper()
	c, _ := newTestCache(t, cfg)
	body := strings.Repeat("b", n)
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Surrogate-Key", "tag:"+r.URL.Path[1:]+" all")
		_, _ = io.WriteString(w, body)
	})
	return c, o, c.Middleware(o)
}

// TestTagIndexFollowsL1: entries evicted from the L1 leave the index (its size stays about
// the L1's), a purge after an eviction finds nothing to remove, and a purge still removes
// what is cached, from the hot set too.
func TestTagIndexFollowsL1(t *testing.T) {
	c, o, h := taggedCache(t, Config{L1MaxBytes: 1 << 20, MaxBodyBytes: 16 << 10}, 4<<10)
	// "hot" is stored and hit twice, so the hot set holds it.
	for range 3 {
		do(t, h, "GET", "/hot")
	}
	if n := c.hot.len(); n != 1 {
		t.Fatalf("setup: the hot set holds %d entries, want 1 (/hot)", n)
	}
	// 2,000 entries of 4 KiB through a 1 MiB L1: most are evicted, /hot among them.
	for i := range 2000 {
		do(t, h, "GET", "/u"+strconv.Itoa(i))
	}
	keys, _, _ := c.local.tags.size()
	l1 := c.l1.Len()
	if keys > l1+10 || keys < l1/2 {
		t.Fatalf("index holds %d keys, L1 %d entries: it must follow the L1", keys, l1)
	}
	c.local.tags.check(t)
	if n, _ := c.PurgeTags(context.Background(), "tag:u0", "tag:hot"); n != 0 {
		t.Fatalf("PurgeTags of evicted entries = %d, want 0", n)
	}
	// Evicted from the L1, /hot must have left the hot set with it (the other entries were
	// never hit, so never in the hot set).
	if n := c.hot.len(); n != 0 {
		t.Fatalf("the hot set holds %d entries after the L1 evicted them", n)
	}
	runs := o.runs.Load()
	do(t, h, "GET", "/hot")
	if o.runs.Load() != runs+1 {
		t.Fatal("/hot was served from the hot set after the L1 evicted it (a purge by tag could not reach it)")
	}
	// The newest entry is cached; a purge by its tag removes it.
	last := "/u1999"
	runs = o.runs.Load()
	wantCacheStatus(t, do(t, h, "GET", last), "strata; hit; ttl=600")
	if n, _ := c.PurgeTags(context.Background(), "tag:u1999"); n != 1 {
		t.Fatalf("PurgeTags(tag:u1999) = %d, want 1", n)
	}
	do(t, h, "GET", last)
	if o.runs.Load() != runs+1 {
		t.Fatal("purged entry still served")
	}
	if err := c.PurgeAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if keys, tags, b := c.local.tags.size(); keys+tags+b != 0 {
		t.Fatalf("after PurgeAll the index holds %d keys, %d tags, %d bytes", keys, tags, b)
	}
	c.onReconnect()
	c.local.tags.check(t)
}

// TestTagIndexFullDeletesL1Entries: with a small index, the oldest tagged entries leave the
// L1 with their index entries, so a purge can never miss a cached entry.
func TestTagIndexFullDeletesL1Entries(t *testing.T) {
	c, o, h := taggedCache(t, Config{TagIndexBytes: 8 << 10}, 100)
	for i := range 100 {
		do(t, h, "GET", "/u"+strconv.Itoa(i))
	}
	keys, _, b := c.local.tags.size()
	if b > 8<<10 || keys == 0 || keys >= 100 {
		t.Fatalf("index: %d keys, %d bytes; want fewer than 100 within 8 KiB", keys, b)
	}
	c.local.tags.check(t)
	if l1 := c.l1.Len(); l1 != keys {
		t.Fatalf("L1 holds %d entries, the index %d keys: the dropped keys must leave the L1", l1, keys)
	}
	runs := o.runs.Load()
	do(t, h, "GET", "/u0")
	if o.runs.Load() != runs+1 {
		t.Fatal("/u0, dropped from the index, was still served from the L1")
	}
	keys, _, _ = c.local.tags.size()
	if l1 := c.l1.Len(); l1 != keys {
		t.Fatalf("L1 holds %d entries, the index %d keys", l1, keys)
	}
	if n, _ := c.PurgeTags(context.Background(), "all"); n != keys {
		t.Fatalf("PurgeTags(all) = %d, want %d (every cached entry)", n, keys)
	}
	if c.l1.Len() != 0 {
		t.Fatalf("%d entries left in the L1 after purging the tag they all carry", c.l1.Len())
	}
}
