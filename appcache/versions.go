package appcache

import (
	"sync"
	"sync/atomic"

	"github.com/zeebo/xxh3"
)

// versions is the in-process half of the no-stale-after-write guarantee: a bounded table of
// counters indexed by a hash of the key. Every invalidation of a key (Invalidate, Set, a tag
// purge, another instance's message) increments its slot and deletes the key from the L1 under
// the slot's lock; a load reads the slot before it starts and stores into the L1 under the
// same lock only if the slot has not moved. Keys sharing a slot cost each other a refused store
// now and then, never a stale one.
type versions struct {
	mask  uint64
	slots []vslot
}

type vslot struct {
	mu sync.Mutex
	v  atomic.Uint64 // written under mu
	_  [48]byte      // a cache line per slot
}

func newVersions(n int) *versions {
	return &versions{mask: uint64(n - 1), slots: make([]vslot, n)}
}

func (t *versions) slot(key string) *vslot { return &t.slots[xxh3.HashString(key)&t.mask] }

// read returns the key's current version.
func (t *versions) read(key string) uint64 { return t.slot(key).v.Load() }

// storeIf runs store under the slot's lock if the version is still v0, and reports whether it
// did.
func (t *versions) storeIf(key string, v0 uint64, store func()) bool {
	s := t.slot(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v.Load() != v0 {
		return false
	}
	store()
	return true
}

// bump increments the key's version and runs drop under the slot's lock.
func (t *versions) bump(key string, drop func()) {
	s := t.slot(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.v.Add(1)
	drop()
}

// bumpStoreIf increments the key's version and, under the slot's lock, runs store if nobody
// else moved it since v0 was read, drop otherwise. It reports whether store ran.
func (t *versions) bumpStoreIf(key string, v0 uint64, store, drop func()) bool {
	s := t.slot(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v.Add(1) == v0+1 {
		store()
		return true
	}
	drop()
	return false
}

// bumpAll moves every slot: after messages may have been lost, no load in flight may store.
func (t *versions) bumpAll() {
	for i := range t.slots {
		s := &t.slots[i]
		s.mu.Lock()
		s.v.Add(1)
		s.mu.Unlock()
	}
}
