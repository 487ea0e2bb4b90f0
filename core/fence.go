package core

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fences keep a fill from storing what a purge made stale while the handler ran (the late
// write: a fill that read the database before a PUT finishes after the PUT's purge). Every
// purge of a key bumps its fence (a counter per key hash slot, shared by the keys that fall in
// one slot), before it deletes; a fill reads the fence of its key before it looks up or runs
// the handler, and checks it again after each write: a fence that moved means the entry is
// deleted again, by the fill itself, so whichever comes last, the purge's delete or the
// fill's check, leaves no stale entry. Purges on other instances reach this one's fences
// through the bus (onMessage); as this instance may have written the shared tier after the
// other's delete but checked its fence before the message came, a message for a slot this
// instance wrote to L2 lately deletes the key's L2 copies again (see lateWrite).
type fences struct {
	n     [fenceSlots]atomic.Uint64
	wrote [fenceSlots]atomic.Int64 // unix nanos of this instance's last L2 write in the slot
}

// lateWindow is how long after an L2 write a purge message from another instance makes this
// instance delete the key's L2 copies again: longer than a message takes to arrive.
const lateWindow = 10 * time.Second

// fenceSlots is the number of fence counters: a purge of one key also fences the keys that
// share its slot, which costs them one store at most (the next request stores again).
const fenceSlots = 4096

func (f *fences) load(hash uint64) uint64 { return f.n[hash%fenceSlots].Load() }

func (f *fences) bump(hash uint64) { f.n[hash%fenceSlots].Add(1) }

// writing records an L2 write of a key with this hash, before it is made.
func (f *fences) writing(hash uint64, now time.Time) { f.wrote[hash%fenceSlots].Store(now.UnixNano()) }

// bumpKey bumps the fence of a store key ("<ns>:{<hex hash>}:…"); a key without a hash tag
// (not an entry key) is ignored. It reports whether this instance wrote a key of the slot to
// L2 within lateWindow before now: its write may have come after the purge's delete.
func (f *fences) bumpKey(key string, now time.Time) (lateWrite bool) {
	h, ok := keyHashOf(key)
	if !ok {
		return false
	}
	f.bump(h)
	return now.UnixNano()-f.wrote[h%fenceSlots].Load() < int64(lateWindow)
}

// keyHashOf reads the key hash out of a store key's hash tag.
func keyHashOf(key string) (uint64, bool) {
	_, rest, ok := strings.Cut(key, "{")
	if !ok {
		return 0, false
	}
	hexHash, _, ok := strings.Cut(rest, "}")
	if !ok {
		return 0, false
	}
	h, err := strconv.ParseUint(hexHash, 16, 64)
	return h, err == nil
}

// fenced reports whether a purge of x's key, or of one of the tags of the entry it fills,
// happened since x read its fences.
func (c *Cache) fenced(x *exchange, tags []string) bool {
	return c.fences.load(x.k.hash) != x.fence || c.tags.since(x.tagSeq, tags)
}

// tagFence is the fence of purges by tag: a fill's tags are indexed only when it stores, so a
// purge of one of them while its handler runs finds nothing to delete. Every purge by tag
// (here or, through the bus, on another instance) is numbered and remembered for a while; a
// fill that started before one of them and carries its tag does not store (it is served). The
// entries this instance wrote to L2 lately are remembered with their tags too, so that a purge
// of one of their tags deletes them again, when the write may have come after the purge.
type tagFence struct {
	seq    atomic.Uint64 // purges by tag so far
	mu     sync.Mutex
	purged [tagFenceSize]purgedTag // the latest purges by tag, by seq % size
	writes [tagFenceSize]lateEntry // this instance's latest tagged L2 writes, a ring
	next   int
}

const tagFenceSize = 256

type purgedTag struct {
	seq uint64
	tag string
}

type lateEntry struct {
	key  string
	tags []string
	at   int64 // unix nanos
}

// purge records purges of tags and returns this instance's lately written keys that carry
// one of them (written within lateWindow before now).
func (f *tagFence) purge(tags []string, now time.Time) (late []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range tags {
		n := f.seq.Add(1)
		f.purged[n%tagFenceSize] = purgedTag{seq: n, tag: t}
	}
	for i := range f.writes {
		w := &f.writes[i]
		if w.key != "" && now.UnixNano()-w.at < int64(lateWindow) && intersects(w.tags, tags) {
			late = append(late, w.key)
			w.key = ""
		}
	}
	return late
}

// writing remembers an L2 write of a tagged entry, before it is made.
func (f *tagFence) writing(key string, tags []string, now time.Time) {
	if len(tags) == 0 {
		return
	}
	f.mu.Lock()
	f.writes[f.next] = lateEntry{key: key, tags: tags, at: now.UnixNano()}
	f.next = (f.next + 1) % tagFenceSize
	f.mu.Unlock()
}

// since reports whether a purge after seq named one of tags (or whether that cannot be told
// any more: too many purges since).
func (f *tagFence) since(seq uint64, tags []string) bool {
	cur := f.seq.Load()
	if cur == seq || len(tags) == 0 {
		return false
	}
	if cur-seq >= tagFenceSize {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for n := seq + 1; n <= cur; n++ {
		if p := f.purged[n%tagFenceSize]; p.seq == n && slices.Contains(tags, p.tag) {
			return true
		}
	}
	return false
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
