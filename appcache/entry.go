package appcache

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/zeebo/xxh3"
)

// A stored value is a 19-byte header, the codec's bytes and an 8-byte checksum:
//
//	0      magic 0xA5
//	1      format (1)
//	2      flags (flagNegative: the key has no value; the payload is empty)
//	3..6   Options.Version (uint32, little endian)
//	7..14  fresh until, unix nanoseconds (int64): past it the value is stale
//	15..18 the load's duration in microseconds (uint32), XFetch's δ
//	19..   payload
//	last 8 xxh3 of everything before it
//
// A value that fails any check (another program's bytes, a cut or corrupted value, another
// schema version) is a miss.
const (
	entryMagic    = 0xA5
	entryFormat   = 1
	headerSize    = 19
	checksumSize  = 8
	entryOverhead = headerSize + checksumSize

	flagNegative = 1 << 0
)

var errCorrupt = errors.New("appcache: stored value failed verification")

// entry is a decoded stored value; payload aliases the stored bytes.
type entry struct {
	flags   byte
	fresh   int64 // unix nanoseconds
	delta   time.Duration
	payload []byte
}

func (e *entry) negative() bool { return e.flags&flagNegative != 0 }

// encodeEntry appends the stored form of payload to dst.
func encodeEntry(dst []byte, version uint32, flags byte, fresh time.Time, delta time.Duration, payload []byte) []byte {
	start := len(dst)
	us := delta.Microseconds()
	if us < 0 {
		us = 0
	}
	if us > 1<<32-1 {
		us = 1<<32 - 1
	}
	dst = append(dst, entryMagic, entryFormat, flags)
	dst = binary.LittleEndian.AppendUint32(dst, version)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(fresh.UnixNano()))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(us))
	dst = append(dst, payload...)
	return binary.LittleEndian.AppendUint64(dst, xxh3.Hash(dst[start:]))
}

// decodeEntry verifies b and returns its fields.
func decodeEntry(b []byte, version uint32) (entry, error) {
	if len(b) < entryOverhead || b[0] != entryMagic || b[1] != entryFormat {
		return entry{}, errCorrupt
	}
	body := len(b) - checksumSize
	if xxh3.Hash(b[:body]) != binary.LittleEndian.Uint64(b[body:]) {
		return entry{}, errCorrupt
	}
	if binary.LittleEndian.Uint32(b[3:]) != version {
		return entry{}, errCorrupt
	}
	return entry{
		flags:   b[2],
		fresh:   int64(binary.LittleEndian.Uint64(b[7:])),
		delta:   time.Duration(binary.LittleEndian.Uint32(b[15:])) * time.Microsecond,
		payload: b[headerSize:body:body],
	}, nil
}
