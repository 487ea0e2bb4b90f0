package appcache

import (
	"sync"
	"unsafe"
)

// keyBuf builds a value key ("<ns>:<version>:{<key>}") in a pooled buffer, so that an L1 hit
// allocates no string for it. borrow returns the key as a string over the buffer: valid only
// until release, and only for calls that keep no reference to it. store.L1.Get is one: it
// hashes the key and compares it with the stored entry's (bigcache's Get), and on an expired
// entry deletes by the key's hash. Anything that keeps the key (a miss, a refresh) takes a
// copy: String, or strings.Clone of the borrowed string.
type keyBuf struct{ b *[]byte }

// maxPooledKey: buffers grown past it by a long key are not kept.
const maxPooledKey = 1 << 10

var keyBufs = sync.Pool{New: func() any { return new([]byte) }}

func (c *Cache[T]) keyBuf(key string) keyBuf {
	bp := keyBufs.Get().(*[]byte)
	b := append((*bp)[:0], c.prefix...)
	b = append(b, key...)
	*bp = append(b, '}')
	return keyBuf{bp}
}

// borrow returns the key without copying it (see keyBuf).
func (k keyBuf) borrow() string { return unsafe.String(unsafe.SliceData(*k.b), len(*k.b)) }

// String returns a copy of the key.
func (k keyBuf) String() string { return string(*k.b) }

// release returns the buffer to the pool; the borrowed string must not be used after it.
func (k keyBuf) release() {
	if cap(*k.b) <= maxPooledKey {
		keyBufs.Put(k.b)
	}
}
