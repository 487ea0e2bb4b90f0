package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
)

// The entry MAC (Config.EntryMACKey): an entry written to L2 is followed by the first macLen
// bytes of HMAC-SHA256(key, uvarint(len(store key)) || store key || entry). The store key is
// in it so that a valid value copied under another key (another URL, variant or namespace
// generation) fails. Only entries carry it: a forged Vary or ignored-parameters record can
// only make lookups miss, never select an entry that fails its own checks.

// macLen is the length of the MAC that follows an entry in L2.
const macLen = 16

var errForged = errors.New("core: an L2 value failed the entry MAC (forged or moved)")

// macer computes entry MACs with one key, reusing HMAC states.
type macer struct {
	pool sync.Pool // hash.Hash
}

func newMacer(key []byte) *macer {
	if len(key) == 0 {
		return nil
	}
	k := append([]byte(nil), key...) // the caller's slice is left as it is
	m := &macer{}
	m.pool.New = func() any { return hmac.New(sha256.New, k) }
	return m
}

// sum appends the MAC of value stored under key to dst.
func (m *macer) sum(dst []byte, key string, value []byte) []byte {
	h := m.pool.Get().(hash.Hash)
	h.Reset()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(key)))])
	h.Write([]byte(key))
	h.Write(value)
	var out [sha256.Size]byte
	dst = append(dst, h.Sum(out[:0])[:macLen]...)
	m.pool.Put(h)
	return dst
}

// seal returns a copy of an encoded entry followed by its MAC under key.
func (m *macer) seal(key string, raw []byte) []byte {
	out := make([]byte, len(raw), len(raw)+macLen)
	copy(out, raw)
	return m.sum(out, key, raw)
}

// open checks the MAC of a value read from L2 under key and returns the entry without it.
func (m *macer) open(key string, b []byte) ([]byte, bool) {
	if len(b) < macLen {
		return nil, false
	}
	n := len(b) - macLen
	var want [macLen]byte
	return b[:n], hmac.Equal(m.sum(want[:0], key, b[:n]), b[n:])
}
