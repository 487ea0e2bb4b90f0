package memcached

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// maxKeyLen is memcached's key length limit (KEY_MAX_LENGTH).
const maxKeyLen = 250

// maxPrefixLen bounds Options.Prefix, so that a hashed key always fits in maxKeyLen.
const maxPrefixLen = 64

// hashMark starts the part of a memcached key after the prefix when the key is hashed. A key
// that itself starts with it is hashed too, so a key used as given never equals a hashed one.
const hashMark = '#'

// maxRelative is the largest expiration memcached reads as seconds from now; larger values
// are absolute unix times (memcached's REALTIME_MAXDELTA, 30 days).
const maxRelative = 30 * 24 * 60 * 60

// itemFlags marks an item written by this package: its value starts with the 8-byte header
// (the expiry deadline). Items with other flags were written by someone else and read as misses.
const itemFlags uint32 = 0x53540001 // "ST", format 1

// headerLen is the size of the header in front of every stored value: the entry's deadline
// in unix milliseconds, big-endian (0: no expiry of its own).
const headerLen = 8

// itemOverhead is what memcached adds to the key and the data when it sizes an item against
// its limit (-I): the item header, the CAS value, the flags and the terminators. Measured as
// 63 bytes on memcached 1.6; a server that counts more refuses the item itself, and Set maps
// that answer to store.ErrTooLarge too.
const itemOverhead = 64

// safeKey reports whether key can be sent to memcached as it is: 1 to 250 bytes, none of them
// a space, a control character or DEL.
func safeKey(key string) bool {
	if len(key) == 0 || len(key) > maxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] == 0x7f {
			return false
		}
	}
	return true
}

// mapKey returns the memcached key for a store key: prefix+key when that is a legal memcached
// key and key does not start with hashMark; otherwise prefix + "#" + the unpadded base64url
// SHA-256 of key (44 bytes after the prefix). Two keys that hash alike would share an item;
// Strata stores the whole key inside each value and checks it on read, so such a collision
// (not one is known for SHA-256) could only turn a hit into a miss.
func mapKey(prefix, key string) string {
	if len(key) > 0 && key[0] != hashMark && len(prefix)+len(key) <= maxKeyLen && safeKey(key) {
		return prefix + key
	}
	sum := sha256.Sum256([]byte(key))
	b := make([]byte, 0, len(prefix)+1+base64.RawURLEncoding.EncodedLen(len(sum)))
	b = append(b, prefix...)
	b = append(b, hashMark)
	b = base64.RawURLEncoding.AppendEncode(b, sum[:])
	return string(b)
}

// checkPrefix validates Options.Prefix: at most maxPrefixLen bytes, legal in a memcached key.
func checkPrefix(p string) error {
	if len(p) > maxPrefixLen {
		return fmt.Errorf("memcached: Options.Prefix is %d bytes, more than %d", len(p), maxPrefixLen)
	}
	if p != "" && !safeKey(p) {
		return fmt.Errorf("memcached: Options.Prefix %q contains a space or a control character", p)
	}
	return nil
}

// expiration converts a TTL into memcached's exptime, as of now: 0 (no expiry) for ttl <= 0;
// whole seconds rounded up (so a sub-second TTL becomes 1 s, never 0, which would mean "no
// expiry") up to 30 days; past 30 days memcached reads the number as an absolute unix time, so
// it is now+ttl in unix seconds (rounded up), capped at math.MaxInt32 (January 2038).
func expiration(ttl time.Duration, now time.Time) int32 {
	if ttl <= 0 {
		return 0
	}
	secs := int64(ttl / time.Second)
	if ttl%time.Second != 0 {
		secs++
	}
	if secs <= maxRelative {
		return int32(secs)
	}
	end := now.Add(ttl)
	abs := end.Unix()
	if end.Nanosecond() != 0 {
		abs++
	}
	if abs > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(abs)
}

// deadline returns the header deadline for ttl as of now, in unix milliseconds rounded up;
// 0 for ttl <= 0 (no expiry).
func deadline(ttl time.Duration, now time.Time) int64 {
	if ttl <= 0 {
		return 0
	}
	ms := int64(ttl / time.Millisecond)
	if ttl%time.Millisecond != 0 {
		ms++
	}
	return now.UnixMilli() + ms
}

// encode returns the stored form of value: the header, then a copy of value.
func encode(value []byte, dl int64) []byte {
	b := make([]byte, headerLen+len(value))
	binary.BigEndian.PutUint64(b, uint64(dl))
	copy(b[headerLen:], value)
	return b
}

// decode returns the value of a stored item read at now, and false when the item is not one
// of this package's or its deadline has passed.
func decode(flags uint32, b []byte, now time.Time) ([]byte, bool) {
	if flags != itemFlags || len(b) < headerLen {
		return nil, false
	}
	dl := int64(binary.BigEndian.Uint64(b))
	if dl != 0 && now.UnixMilli() >= dl {
		return nil, false
	}
	return b[headerLen:], true
}
