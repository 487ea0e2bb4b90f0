package store

import (
	"context"
	"testing"
	"time"
)

// TestL1GetAllocs checks that Get allocates nothing beyond bigcache's own
// Get: in bigcache v3.1.0 that is two allocations on a hit (its collision
// check copies the stored key, then the entry is copied out) and none on a
// miss. Set allocates nothing once its scratch buffer exists.
func TestL1GetAllocs(t *testing.T) {
	l, err := NewL1(L1Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	ctx := context.Background()
	v := make([]byte, 4096)
	key := "ns:{0123456789abcdef}:0:v:0"
	if err := l.Set(ctx, key, v, time.Minute); err != nil {
		t.Fatal(err)
	}
	raw := testing.AllocsPerRun(100, func() { _, _ = l.c.Get(key) })
	if n := testing.AllocsPerRun(100, func() { _, _ = l.Get(ctx, key) }); n != raw || n > 2 {
		t.Errorf("Get hit: %v allocations, bigcache's Get alone %v; want the same, at most 2", n, raw)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = l.Get(ctx, "missing") }); n != 0 {
		t.Errorf("Get miss: %v allocations, want 0", n)
	}
	// An overwrite appends to bigcache's ring; once the shard is full, the oldest entry is
	// evicted, and the eviction counter's callback gets a copy of it: at most one allocation.
	if n := testing.AllocsPerRun(100, func() { _ = l.Set(ctx, key, v, time.Minute) }); n > 1 {
		t.Errorf("Set overwrite: %v allocations, want at most 1 (an eviction copy)", n)
	}
}
