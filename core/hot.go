package core

import (
	"sync"
)

// hotSet memoises decoded L1 entries of the hottest keys, so a repeated hit costs a map
// lookup instead of bigcache's two copies (key and value) and a decode. It is a view of L1,
// never a tier of its own: every L1 write, delete and clear goes through it first, an entry
// carries its own expiry, and it is bounded in bytes (Config.HotBytes). When a shard is full
// it starts over, which keeps it free of per-entry bookkeeping; hot keys come back at once.
type hotSet struct {
	shards   [hotShards]hotShard
	maxBytes int // per shard
}

const hotShards = 8

type hotShard struct {
	mu      sync.RWMutex
	m       map[string]*hotEntry
	bytes   int
	refused int    // puts refused since the shard was last full
	epoch   uint64 // bumped by every delete and clear: a put read before one is refused
}

// hotEntry is immutable once published.
type hotEntry struct {
	raw    []byte // the encoded entry the fields alias
	e      entry
	expire int64 // tier expiry, unix nanos
}

func newHotSet(maxBytes int) *hotSet {
	if maxBytes <= 0 {
		return nil
	}
	h := &hotSet{maxBytes: max(maxBytes/hotShards, 1)}
	for i := range h.shards {
		h.shards[i].m = make(map[string]*hotEntry)
	}
	return h
}

func (h *hotSet) shard(key string) *hotShard {
	var x uint32 = 2166136261
	for i := 0; i < len(key); i++ {
		x = (x ^ uint32(key[i])) * 16777619
	}
	return &h.shards[x%hotShards]
}

// epoch returns the shard's epoch, to be read before the L1 read that feeds put.
func (h *hotSet) epoch(key string) uint64 {
	if h == nil {
		return 0
	}
	s := h.shard(key)
	s.mu.RLock()
	e := s.epoch
	s.mu.RUnlock()
	return e
}

// get looks a key up; key may alias a scratch buffer (it is not kept).
func (h *hotSet) get(key string, now int64) *hotEntry {
	if h == nil {
		return nil
	}
	s := h.shard(key)
	s.mu.RLock()
	he := s.m[key]
	s.mu.RUnlock()
	if he == nil || now >= he.expire {
		return nil
	}
	return he
}

// put publishes an entry read from L1 after epoch was taken; it is dropped when a delete or
// clear happened in between (the read may be older than the delete). key is copied.
func (h *hotSet) put(key string, epoch uint64, raw []byte, e *entry, fields []field) {
	if h == nil || len(raw) > h.maxBytes/2 {
		return
	}
	s := h.shard(key)
	// A full shard refuses new entries (cheaply, before any allocation) until it has refused
	// as many as it holds; then it starts over. A working set larger than the hot set thus
	// pays for a put on a fraction of its misses, not on every one.
	s.mu.RLock()
	full := s.bytes+len(raw) > h.maxBytes
	s.mu.RUnlock()
	if full {
		s.mu.Lock()
		s.refused++
		if s.refused <= len(s.m) {
			s.mu.Unlock()
			return
		}
		s.m, s.bytes, s.refused = make(map[string]*hotEntry, len(s.m)), 0, 0
		s.mu.Unlock()
	}
	he := &hotEntry{raw: raw, e: *e, expire: e.expires}
	he.e.fields = append([]field(nil), fields...)
	he.e.clen = formatInt(len(e.body))
	s.mu.Lock()
	if s.epoch != epoch || s.bytes+len(raw) > h.maxBytes {
		s.mu.Unlock()
		return
	}
	key = string([]byte(key))
	if old := s.m[key]; old != nil {
		s.bytes -= len(old.raw)
	}
	s.m[key] = he
	s.bytes += len(raw)
	s.mu.Unlock()
}

func (h *hotSet) del(key string) {
	if h == nil {
		return
	}
	s := h.shard(key)
	s.mu.Lock()
	s.epoch++
	if old := s.m[key]; old != nil {
		s.bytes -= len(old.raw)
		delete(s.m, key)
	}
	s.mu.Unlock()
}

func (h *hotSet) clear() {
	if h == nil {
		return
	}
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		s.m = make(map[string]*hotEntry)
		s.bytes = 0
		s.epoch++
		s.mu.Unlock()
	}
}
