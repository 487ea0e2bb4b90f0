package core

import (
	"strings"
	"sync"
	"sync/atomic"
)

// tagIndex maps surrogate keys (tags) to the L1 keys stored under them: the whole index of a
// cache without a shared fleet, and the index of this instance's L1 copies with one (the
// fleet's index, which may lose tags, names the L2 entries; see tagstamp.go).
//
// It owns its strings: add copies the key and the tags, which the caller reads from an
// encoded entry that must not be kept alive by the index.
//
// It follows the L1: an entry that leaves the L1 (evicted for room, expired, deleted) leaves
// the index through forget, which the L1's removal callback calls, so the index holds about
// what the L1 holds.
//
// It is bounded in keys and in bytes (an estimate of its heap: the strings and a fixed cost
// per key, per tag and per key-tag link). When a new key would pass a bound, the oldest keys
// are dropped, and, since a purge looks keys up here and nowhere else, deleted from the L1 by
// drop: a tagged L1 entry is either in the index or being deleted (pending), and purge
// returns the pending keys too, so a purge never misses an entry that is still cached. The
// only window left is the one between an entry's L1 write and its add (save), as with Redis.
//
// Lock order: an L1 shard's lock, then mu (forget runs under the shard's lock). drop, which
// calls the L1, runs without mu.
type tagIndex struct {
	mu         sync.Mutex
	tags       map[string]*tagSet
	keys       map[string]*tagKey
	head, tail *tagKey        // keys, oldest first
	pending    map[string]int // keys dropped for room whose L1 delete is under way
	bytes      int            // estimated heap held
	n          atomic.Int64   // len(keys), read without mu by forget
	maxKeys    int            // bound on len(keys)
	maxBytes   int            // bound on bytes
	drop       func([]string) // deletes dropped keys from the L1; nil: nothing to delete
}

// tagSet is one tag's keys: one, until a second key makes it a map (most tags name one URL).
type tagSet struct {
	name string  // the index's own copy
	one  *tagKey // the key, while more is nil
	more map[*tagKey]struct{}
}

func (s *tagSet) has(k *tagKey) bool {
	if s.more == nil {
		return s.one == k
	}
	_, ok := s.more[k]
	return ok
}

func (s *tagSet) len() int {
	switch {
	case s.more != nil:
		return len(s.more)
	case s.one != nil:
		return 1
	}
	return 0
}

// insert adds k (not a member); it reports whether the set became a map.
func (s *tagSet) insert(k *tagKey) bool {
	switch {
	case s.more != nil:
		s.more[k] = struct{}{}
	case s.one == nil:
		s.one = k
	default:
		s.more = map[*tagKey]struct{}{s.one: {}, k: {}}
		s.one = nil
		return true
	}
	return false
}

func (s *tagSet) delete(k *tagKey) {
	if s.more != nil {
		delete(s.more, k)
	} else if s.one == k {
		s.one = nil
	}
}

// members returns the keys, in a slice of their own.
func (s *tagSet) members() []*tagKey {
	if s.more == nil {
		if s.one == nil {
			return nil
		}
		return []*tagKey{s.one}
	}
	out := make([]*tagKey, 0, len(s.more))
	for k := range s.more {
		out = append(out, k)
	}
	return out
}

// tagKey is one L1 key and the tags it was stored under.
type tagKey struct {
	key        string // the index's own copy
	tags       []*tagSet
	cost       int // bytes counted for the key and its links
	prev, next *tagKey
}

// Estimated heap costs on 64-bit Go (TestTagIndexCostEstimate keeps them a little above
// the measured heap): a key's struct, map slot and string allocation; a tag's set and map
// slot; the map a set of several keys grows; a key-tag link's map slot and slice element.
// Strings are counted at their length on top.
const (
	tagKeyCost  = 128
	tagSetCost  = 80
	tagMapCost  = 160
	tagLinkCost = 32
)

func newTagIndex(maxKeys, maxBytes int, drop func([]string)) *tagIndex {
	return &tagIndex{
		tags:     make(map[string]*tagSet),
		keys:     make(map[string]*tagKey),
		pending:  make(map[string]int),
		maxKeys:  maxKeys,
		maxBytes: maxBytes,
		drop:     drop,
	}
}

// add records that key is stored under tags (once the key is in the L1). A key stored again
// keeps the tags it had: another fill of the key may have stored an entry under them a moment
// ago, and a purge that removes one entry too many costs a miss, one too few a stale answer.
func (t *tagIndex) add(tags []string, key string) {
	if len(tags) == 0 {
		return
	}
	t.mu.Lock()
	k := t.keys[key]
	if k == nil {
		k = &tagKey{key: strings.Clone(key), cost: tagKeyCost + len(key)}
		t.keys[k.key] = k
		t.n.Store(int64(len(t.keys)))
		t.bytes += k.cost
	} else {
		t.unlink(k)
	}
	t.pushBack(k) // the newest
	for _, name := range tags {
		s := t.tags[name]
		if s == nil {
			s = &tagSet{name: strings.Clone(name)}
			t.tags[s.name] = s
			t.bytes += tagSetCost + len(name)
		}
		if s.has(k) {
			continue
		}
		if s.insert(k) {
			t.bytes += tagMapCost
		}
		k.tags = append(k.tags, s)
		k.cost += tagLinkCost
		t.bytes += tagLinkCost
	}
	// Make room, oldest first; a key whose tags alone pass the bound goes too.
	var victims []string
	for len(t.keys) > t.maxKeys || t.bytes > t.maxBytes {
		old := t.head
		t.remove(old)
		if t.drop != nil {
			victims = append(victims, old.key)
			t.pending[old.key]++
		}
	}
	t.mu.Unlock()
	if len(victims) == 0 {
		return
	}
	t.drop(victims) // its L1 deletes call forget: mu must not be held
	t.mu.Lock()
	for _, v := range victims {
		if t.pending[v]--; t.pending[v] <= 0 {
			delete(t.pending, v)
		}
	}
	t.mu.Unlock()
}

// forget drops a key that left the L1. It runs under an L1 shard's lock.
func (t *tagIndex) forget(key string) {
	if t.n.Load() == 0 {
		return // no tagged key: the common case for untagged caches, without the lock
	}
	t.mu.Lock()
	if k := t.keys[key]; k != nil {
		t.remove(k)
	}
	t.mu.Unlock()
}

// purge removes the tags' keys from the index and returns them, with the keys being deleted
// for room (they are on their way out of the L1 anyway, and a purge must not miss them).
func (t *tagIndex) purge(tags []string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, name := range tags {
		s := t.tags[name]
		if s == nil {
			continue
		}
		for _, k := range s.members() {
			out = append(out, k.key)
			t.remove(k)
		}
	}
	for key := range t.pending {
		if t.keys[key] == nil { // stored again since: found above if it has the tags
			out = append(out, key)
		}
	}
	return out
}

// reset forgets every key (the L1 was cleared, or every entry is unreachable).
func (t *tagIndex) reset() {
	t.mu.Lock()
	t.tags = make(map[string]*tagSet)
	t.keys = make(map[string]*tagKey)
	t.head, t.tail, t.bytes = nil, nil, 0
	t.n.Store(0)
	t.mu.Unlock()
}

// size returns the number of keys and tags and the estimated bytes (tests, stats).
func (t *tagIndex) size() (keys, tags, bytes int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys), len(t.tags), t.bytes
}

// remove takes k out of every structure; mu is held.
func (t *tagIndex) remove(k *tagKey) {
	for _, s := range k.tags {
		s.delete(k)
		if s.len() == 0 {
			delete(t.tags, s.name)
			t.bytes -= tagSetCost + len(s.name)
			if s.more != nil {
				t.bytes -= tagMapCost
			}
		}
	}
	k.tags = nil
	t.unlink(k)
	delete(t.keys, k.key)
	t.n.Store(int64(len(t.keys)))
	t.bytes -= k.cost
}

func (t *tagIndex) pushBack(k *tagKey) {
	k.prev, k.next = t.tail, nil
	if t.tail != nil {
		t.tail.next = k
	} else {
		t.head = k
	}
	t.tail = k
}

func (t *tagIndex) unlink(k *tagKey) {
	if k.prev != nil {
		k.prev.next = k.next
	} else if t.head == k {
		t.head = k.next
	}
	if k.next != nil {
		k.next.prev = k.prev
	} else if t.tail == k {
		t.tail = k.prev
	}
	k.prev, k.next = nil, nil
}
