package core

import (
	"fmt"
	"sync"
	"testing"
)

// hotEntryFor encodes a small entry expiring at expires, as read from the L1.
func hotEntryFor(t *testing.T, body string, expires int64) ([]byte, *entry) {
	t.Helper()
	e := entry{status: 200, key: "pk", expires: expires, body: []byte(body),
		fields: []field{{name: "Content-Type", value: "text/plain"}}}
	raw := e.encode(nil)
	var d entry
	if err := decodeEntry(raw, &d); err != nil {
		t.Fatal(err)
	}
	return raw, &d
}

// sameShard returns n keys of one shard of h, and one of another shard.
func sameShard(h *hotSet, n int) (same []string, other string) {
	first := "k0"
	same = []string{first}
	for i := 1; len(same) < n || other == ""; i++ {
		k := fmt.Sprint("k", i)
		if h.shard(k) == h.shard(first) {
			if len(same) < n {
				same = append(same, k)
			}
		} else if other == "" {
			other = k
		}
	}
	return same, other
}

// The epoch guard: a put whose epoch was taken before a delete (or a clear) of its shard is
// refused, so a reader that read the L1 before a purge cannot publish what it read after it.
func TestHotSetEpochGuard(t *testing.T) {
	const now, later = 100, 1000
	h := newHotSet(1 << 20)
	keys, other := sameShard(h, 2)
	key, neighbour := keys[0], keys[1]

	t.Run("put with the current epoch", func(t *testing.T) {
		raw, e := hotEntryFor(t, "v1", later)
		h.put(key, h.epoch(key), raw, e, e.fields)
		he := h.get(key, now)
		if he == nil || string(he.e.body) != "v1" || he.e.clen != "2" || len(he.e.fields) != 1 {
			t.Fatalf("get after put: %+v", he)
		}
	})
	t.Run("put read before a delete of its key", func(t *testing.T) {
		epoch := h.epoch(key) // the reader takes the epoch, then reads the L1 ...
		h.del(key)            // ... a purge deletes the key ...
		raw, e := hotEntryFor(t, "old", later)
		h.put(key, epoch, raw, e, e.fields) // ... and the reader publishes what it read
		if he := h.get(key, now); he != nil {
			t.Fatalf("a put older than the delete was kept: %q", he.e.body)
		}
	})
	t.Run("put read before a delete in its shard", func(t *testing.T) {
		epoch := h.epoch(key)
		h.del(neighbour) // the epoch is per shard: any delete there refuses older puts
		raw, e := hotEntryFor(t, "old", later)
		h.put(key, epoch, raw, e, e.fields)
		if h.get(key, now) != nil {
			t.Fatal("a put older than a delete in its shard was kept")
		}
	})
	t.Run("put read before a clear", func(t *testing.T) {
		epoch := h.epoch(key)
		h.clear()
		raw, e := hotEntryFor(t, "old", later)
		h.put(key, epoch, raw, e, e.fields)
		if h.get(key, now) != nil {
			t.Fatal("a put older than a clear was kept")
		}
	})
	t.Run("a delete in another shard does not refuse", func(t *testing.T) {
		epoch := h.epoch(key)
		h.del(other)
		raw, e := hotEntryFor(t, "v2", later)
		h.put(key, epoch, raw, e, e.fields)
		if he := h.get(key, now); he == nil || string(he.e.body) != "v2" {
			t.Fatal("a delete in another shard refused the put")
		}
	})
	t.Run("a delete removes what a put published", func(t *testing.T) {
		h.del(key)
		if h.get(key, now) != nil {
			t.Fatal("deleted key still served")
		}
	})
	t.Run("expired", func(t *testing.T) {
		raw, e := hotEntryFor(t, "v3", now+1)
		h.put(key, h.epoch(key), raw, e, e.fields)
		if h.get(key, now) == nil || h.get(key, now+1) != nil {
			t.Fatal("an entry must be served until its expiry, not at it")
		}
	})
}

// Concurrent readers that took their epoch before a delete never leave an entry behind it.
func TestHotSetEpochGuardConcurrent(t *testing.T) {
	h := newHotSet(1 << 20)
	raw, e := hotEntryFor(t, "old", 1<<62)
	for round := 0; round < 200; round++ {
		epochs := make(chan uint64, 8)
		var wg sync.WaitGroup
		for range 8 {
			epochs <- h.epoch("k")
		}
		close(epochs)
		h.del("k")
		for epoch := range epochs {
			wg.Go(func() { h.put("k", epoch, raw, e, e.fields) })
		}
		wg.Wait()
		if h.get("k", 0) != nil {
			t.Fatalf("round %d: a put older than the delete was kept", round)
		}
	}
}

// The hot set is bounded: an entry over half a shard is never kept, and a full shard refuses
// new entries until it has refused as many as it holds, then starts over.
func TestHotSetBound(t *testing.T) {
	h := newHotSet(hotShards * 1024) // 1 KiB per shard
	keys, _ := sameShard(h, 8)
	big, be := hotEntryFor(t, string(make([]byte, 600)), 1<<62)
	h.put(keys[0], h.epoch(keys[0]), big, be, be.fields)
	if h.get(keys[0], 0) != nil {
		t.Fatal("an entry over half a shard was kept")
	}
	raw, e := hotEntryFor(t, string(make([]byte, 200)), 1<<62)
	n := 0
	for _, k := range keys {
		h.put(k, h.epoch(k), raw, e, e.fields)
		if h.get(k, 0) == nil {
			break
		}
		n++
	}
	if n == 0 || n == len(keys) {
		t.Fatalf("%d entries of %d bytes fit a 1 KiB shard", n, len(raw))
	}
	s := h.shard(keys[0])
	if s.bytes > h.maxBytes {
		t.Fatalf("shard holds %d bytes, bound %d", s.bytes, h.maxBytes)
	}
	// Refused n times (the first refusal above counted), the shard starts over.
	for i := 0; i < n; i++ {
		h.put(keys[n], h.epoch(keys[n]), raw, e, e.fields)
	}
	if h.get(keys[n], 0) == nil || h.get(keys[0], 0) != nil {
		t.Fatal("a full shard did not start over after refusing as many entries as it holds")
	}
	var off *hotSet // HotBytes < 0
	off.put("k", off.epoch("k"), raw, e, e.fields)
	off.del("k")
	off.clear()
	if off.get("k", 0) != nil {
		t.Fatal("a disabled hot set served an entry")
	}
}
