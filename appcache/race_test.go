package appcache

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/internal/redistest"
)

// The stale-after-write race, interleaved deterministically: a reader's Fetch runs its fill,
// and at one step of it (a hook, in the reader's goroutine, no sleeps) a writer changes the
// source from "v1" to "v2" and invalidates the key (Invalidate, or Set as write-through). The
// reader may answer "v1" (it began first), but afterwards no tier may hold "v1": the next
// Fetch answers "v2". Every step of the load path, cold (nothing cached) and warm (the L2 holds
// "v1", the reader's L1 nothing), on the L1 alone, on an L2 without VersionedTier (writer in
// the same instance: the fallback's guarantee), and on Redis with the writer in the same
// instance or in another one.

type raceSetup struct {
	name    string
	cross   bool // writer is another instance
	l2redis bool
	// build returns the reader and the writer over fresh shared state, with the reader's hook.
	build func(t *testing.T, i int, h *hooks) (reader, writer *Cache[string], l2 core.Tier)
}

type writerAction struct {
	name string
	do   func(w *Cache[string], src *atomic.Value, key string) error
}

var writerActions = []writerAction{
	{"invalidate", func(w *Cache[string], src *atomic.Value, key string) error {
		src.Store("v2")
		return w.Invalidate(bg, key)
	}},
	{"set", func(w *Cache[string], src *atomic.Value, key string) error {
		return w.Set(bg, key, "v2", func(context.Context) error { src.Store("v2"); return nil })
	}},
	{"tags", func(w *Cache[string], src *atomic.Value, key string) error {
		src.Store("v2")
		_, err := w.InvalidateTags(bg, "t:"+key)
		return err
	}},
	// Tags known only from the value (Options.Tags): covered in one instance (the tag epoch);
	// across instances only once the purge's message arrived (see the package documentation).
	{"value-tags", func(w *Cache[string], src *atomic.Value, key string) error {
		src.Store("v2")
		_, err := w.InvalidateTags(bg, "vt:"+key)
		return err
	}},
}

func valueTags(k, _ string) []string { return []string{"vt:" + k} }

// raceSetups are the tiers the interleavings run on.
func raceSetups(srv *redistest.Server) []raceSetup {
	return []raceSetup{
		{name: "l1", build: func(t *testing.T, _ int, h *hooks) (*Cache[string], *Cache[string], core.Tier) {
			c := newCache(t, Options[string]{hooks: h, Tags: valueTags})
			return c, c, nil
		}},
		{name: "plain-l2", build: func(t *testing.T, _ int, h *hooks) (*Cache[string], *Cache[string], core.Tier) {
			l2 := newMapTier()
			c := newCache(t, Options[string]{L2: l2, hooks: h, Tags: valueTags})
			return c, c, l2
		}},
		{name: "batch-l2", build: func(t *testing.T, _ int, h *hooks) (*Cache[string], *Cache[string], core.Tier) {
			l2 := &batchTier{mapTier: newMapTier()}
			c := newCache(t, Options[string]{L2: l2, hooks: h, Tags: valueTags})
			return c, c, l2
		}},
		{name: "redis", l2redis: true, build: func(t *testing.T, i int, h *hooks) (*Cache[string], *Cache[string], core.Tier) {
			rs := newRedisStore(t, srv)
			c := newCache(t, Options[string]{L2: rs, Namespace: fmt.Sprintf("r%d", i), hooks: h, Tags: valueTags})
			return c, c, rs
		}},
		{name: "redis-two-instances", cross: true, l2redis: true, build: func(t *testing.T, i int, h *hooks) (*Cache[string], *Cache[string], core.Tier) {
			a, b := newRedisStore(t, srv), newRedisStore(t, srv)
			ns := fmt.Sprintf("x%d", i)
			r := newCache(t, Options[string]{L2: a, Namespace: ns, hooks: h})
			w := newCache(t, Options[string]{L2: b, Namespace: ns})
			return r, w, a
		}},
	}
}

func TestNoStaleAfterWrite(t *testing.T) { testNoStaleAfterWrite(t, false) }

// The same interleavings with a FetchMany reader (of the key and another one): its batch loads
// are fenced like Fetch's.
func TestNoStaleAfterWriteFetchMany(t *testing.T) { testNoStaleAfterWrite(t, true) }

func testNoStaleAfterWrite(t *testing.T, many bool) {
	srv := redistest.Start(t)
	setups := raceSetups(srv)
	n := 0
	for _, su := range setups {
		t.Run(su.name, func(t *testing.T) {
			if srv == nil && su.l2redis {
				t.Skip("no redis-server")
			}
			for _, warm := range []bool{false, true} {
				if warm && su.name == "l1" {
					continue
				}
				for _, act := range writerActions {
					if su.cross && act.name == "value-tags" {
						continue
					}
					fired := 0
					for s := range numSteps {
						if s == stepRemoteInvalidate || s == stepLockWait {
							continue
						}
						n++
						name := fmt.Sprintf("warm=%v/%s/at-%s", warm, act.name, s)
						if raceOnce(t, su, n, warm, many, act, s) {
							fired++
						} else {
							t.Logf("%s: step not reached", name)
						}
					}
					if want := map[bool]int{false: 3, true: 2}[warm]; fired < want {
						t.Errorf("warm=%v %s: only %d steps reached", warm, act.name, fired)
					}
				}
			}
		})
	}
}

// raceOnce runs one interleaving and reports whether the step was reached.
func raceOnce(t *testing.T, su raceSetup, i int, warm, many bool, act writerAction, at step) bool {
	t.Helper()
	const key = "k"
	var src atomic.Value
	src.Store("v1")
	var armed atomic.Bool
	var fired atomic.Bool
	var writer *Cache[string]
	var werr error
	h := &hooks{at: func(s step, k string) {
		if s == at && k == key && armed.CompareAndSwap(true, false) {
			fired.Store(true)
			werr = act.do(writer, &src, key)
		}
	}}
	reader, w, l2 := su.build(t, i, h)
	writer = w
	load := func(context.Context) (string, error) { return src.Load().(string), nil }
	tags := WithTags("t:" + key)
	if warm {
		// "v1" in the L2, not in the reader's L1.
		if _, err := writer.Fetch(bg, key, load, tags); err != nil {
			t.Fatal(err)
		}
		reader.l1.Clear()
	}
	armed.Store(true)
	if many {
		loadMany := func(_ context.Context, keys []string) (map[string]string, error) {
			m := make(map[string]string)
			for _, k := range keys {
				m[k] = src.Load().(string)
			}
			return m, nil
		}
		if got, err := reader.FetchMany(bg, []string{key, "other"}, loadMany, tags); err != nil || len(got) != 2 {
			t.Fatalf("%s: reader: %v %v", at, got, err)
		}
	} else if _, err := reader.Fetch(bg, key, load, tags); err != nil {
		t.Fatalf("%s: reader: %v", at, err)
	}
	armed.Store(false)
	if !fired.Load() {
		return false
	}
	if werr != nil {
		t.Fatalf("%s: writer: %v", at, werr)
	}
	if su.cross && reader != writer {
		// The reader's L1 hears of the write through the bus: wait for a marker the writer
		// publishes after it (one channel: messages arrive in the order they were sent).
		m0 := reader.markers.Load()
		if err := writer.fleet.Publish(bg, []byte("A"+writer.id+"Z")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the invalidation messages", func() bool { return reader.markers.Load() > m0 })
	}
	where := fmt.Sprintf("warm=%v %s at %s", warm, act.name, at)
	vk := reader.valueKey(key)
	check := func(tier string, b []byte) {
		if b == nil {
			return
		}
		e, err := decodeEntry(b, 0)
		if err != nil {
			t.Errorf("%s: %s holds an undecodable value", where, tier)
			return
		}
		if string(e.payload) == `"v1"` {
			t.Errorf("%s: %s holds the stale value", where, tier)
		}
	}
	if b, err := reader.l1.Get(bg, vk); err == nil {
		check("reader L1", b)
	}
	if l2 != nil {
		if b, err := l2.Get(bg, vk); err == nil {
			check("L2", b)
		}
	}
	if v, err := reader.Fetch(bg, key, load, tags); err != nil || v != "v2" {
		t.Errorf("%s: next Fetch answered %q %v, want v2", where, v, err)
	}
	return true
}
