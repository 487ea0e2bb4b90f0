package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allegro/bigcache/v3"
)

const (
	mib = 1 << 20

	// expirySize is the per-entry expiry (unix nanoseconds, little endian)
	// that L1 keeps in front of every value.
	expirySize = 8
	// entryOverhead is what a stored entry costs on top of its key and value:
	// the expiry, bigcache's header (timestamp, hash, key length: 18 bytes)
	// and its queue's length varint (at most 5 bytes), rounded up.
	entryOverhead = 32
	// maxKeyLen is the longest key bigcache can store (a uint16 length).
	maxKeyLen = 1<<16 - 1
)

// L1Config configures NewL1. The zero value is a working default.
type L1Config struct {
	// MaxBytes bounds the bytes held by entries (keys, values and per-entry
	// headers), split evenly across the shards; when a shard is full its
	// oldest entries are evicted. bigcache counts it in whole MiB, so it is
	// rounded down to a MiB and must be at least 1 MiB. bigcache also keeps,
	// per shard, a scratch buffer as large as the largest entry written to
	// it, so the worst case is about 1.5×MaxBytes. Default 64 MiB.
	MaxBytes int
	// Shards is the number of independently locked shards, a power of two.
	// More shards mean less lock contention but a smaller MaxEntryBytes.
	// Default 256.
	Shards int
	// MaxEntryBytes is the largest len(key)+len(value) that Set accepts;
	// larger entries get ErrTooLarge. Its ceiling, also its default, is the
	// largest entry bigcache can always place in a shard whatever its state:
	// half a shard less 32 bytes of overhead, MaxBytes/Shards/2 - 32
	// (131040 bytes with the other defaults). Default: that ceiling.
	MaxEntryBytes int
	// MaxTTL caps every entry's lifetime; a Set with a longer ttl, or with
	// ttl <= 0, keeps the entry for MaxTTL. It is also bigcache's LifeWindow.
	// Default 24h.
	MaxTTL time.Duration
	// Clock is used to compute and check expiry. Default time.Now.
	Clock Clock
	// OnRemove, when set, is called with the key of every entry that leaves
	// the cache, except by an overwrite or Clear: evicted for room, dropped
	// past MaxTTL, or deleted (Delete, an expired entry found by Get, a Set
	// rejected with ErrTooLarge over a previous value). It runs under the
	// shard's lock, so it must be quick and must not call the L1. The key is a
	// copy the callee may keep. Default nil.
	OnRemove func(key string)
}

// L1 is an in-process, byte-bounded Store over bigcache. Each value is
// stored behind an 8-byte expiry, since bigcache's own life window is one
// for the whole cache. Safe for concurrent use.
type L1 struct {
	c        *bigcache.BigCache
	clock    Clock
	maxTTL   time.Duration
	maxEntry int
	scratch  sync.Pool // *[]byte, for Set
	close    sync.Once

	expired   atomic.Int64
	evictions atomic.Int64
	tooLarge  atomic.Int64
}

// L1Stats is a snapshot of L1 counters.
type L1Stats struct {
	Hits       int64 // Get calls that returned a value
	Misses     int64 // Get calls that returned ErrNotFound (including Expired and Collisions)
	Expired    int64 // Get calls that found an entry past its expiry (and deleted it)
	Collisions int64 // Get calls that found another key with the same 64-bit hash
	Evictions  int64 // live entries dropped by bigcache for room or past MaxTTL
	TooLarge   int64 // Set calls rejected with ErrTooLarge
	Entries    int   // as Len
	Bytes      int64 // as Bytes
}

// NewL1 validates cfg, fills in defaults and creates the cache.
func NewL1(cfg L1Config) (*L1, error) {
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 64 * mib
	}
	if cfg.MaxBytes < mib {
		return nil, fmt.Errorf("store: L1Config.MaxBytes %d is below the 1 MiB minimum", cfg.MaxBytes)
	}
	if cfg.Shards == 0 {
		cfg.Shards = 256
	}
	if cfg.Shards < 0 || cfg.Shards&(cfg.Shards-1) != 0 {
		return nil, fmt.Errorf("store: L1Config.Shards %d is not a power of two", cfg.Shards)
	}
	hardMiB := cfg.MaxBytes / mib
	shardBytes := hardMiB * mib / cfg.Shards
	if int64(shardBytes) >= 1<<32 {
		return nil, fmt.Errorf("store: L1Config: %d bytes per shard exceed bigcache's 4 GiB shard limit; use more shards", shardBytes)
	}
	ceiling := shardBytes/2 - entryOverhead
	if ceiling < 64 {
		return nil, fmt.Errorf("store: L1Config: %d MiB over %d shards leaves no room for entries; use fewer shards", hardMiB, cfg.Shards)
	}
	switch {
	case cfg.MaxEntryBytes == 0:
		cfg.MaxEntryBytes = ceiling
	case cfg.MaxEntryBytes < 0:
		return nil, fmt.Errorf("store: L1Config.MaxEntryBytes %d is negative", cfg.MaxEntryBytes)
	case cfg.MaxEntryBytes > ceiling:
		return nil, fmt.Errorf("store: L1Config.MaxEntryBytes %d exceeds %d, the largest entry a %d-byte shard always takes (MaxBytes/Shards/2 - %d)",
			cfg.MaxEntryBytes, ceiling, shardBytes, entryOverhead)
	}
	if cfg.MaxTTL == 0 {
		cfg.MaxTTL = 24 * time.Hour
	}
	if cfg.MaxTTL < 0 {
		return nil, fmt.Errorf("store: L1Config.MaxTTL %s is negative", cfg.MaxTTL)
	}

	l := &L1{clock: cfg.Clock.OrNow(), maxTTL: cfg.MaxTTL, maxEntry: cfg.MaxEntryBytes}
	bc := bigcache.Config{
		Shards:     cfg.Shards,
		LifeWindow: cfg.MaxTTL,
		// No cleaner goroutine: expiry is checked on Get, and bigcache drops
		// entries past the life window from the head of a shard on Set.
		CleanWindow: 0,
		// Initial shard size: 10 entries × 256 bytes; shards grow up to
		// MaxBytes/Shards on demand.
		MaxEntriesInWindow: 0,
		MaxEntrySize:       256,
		HardMaxCacheSize:   hardMiB,
		Verbose:            false,
		Logger:             nopLogger{},
		OnRemoveWithReason: func(key string, _ []byte, reason bigcache.RemoveReason) {
			if reason != bigcache.Deleted {
				l.evictions.Add(1)
			}
			if cfg.OnRemove != nil {
				cfg.OnRemove(key)
			}
		},
	}
	// bigcache copies the key and the value for every callback: deletes are only reported
	// when someone listens.
	if cfg.OnRemove != nil {
		bc = bc.OnRemoveFilterSet(bigcache.NoSpace, bigcache.Expired, bigcache.Deleted)
	} else {
		bc = bc.OnRemoveFilterSet(bigcache.NoSpace, bigcache.Expired)
	}
	c, err := bigcache.New(context.Background(), bc)
	if err != nil {
		return nil, fmt.Errorf("store: bigcache: %w", err)
	}
	l.c = c
	return l, nil
}

// Get returns a copy of the value under key, or ErrNotFound when it is
// missing or expired (an expired entry is deleted). It makes one allocation,
// bigcache's copy of the entry; the value is a subslice of it.
func (l *L1) Get(_ context.Context, key string) ([]byte, error) {
	v, err := l.c.Get(key)
	if err != nil {
		if errors.Is(err, bigcache.ErrEntryNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("store: l1 get: %w", err)
	}
	if len(v) < expirySize {
		_ = l.c.Delete(key)
		return nil, ErrNotFound
	}
	if l.clock().UnixNano() >= int64(binary.LittleEndian.Uint64(v)) {
		// Another goroutine may have stored a fresh value since our read, which
		// this deletes too: that costs one miss, never a stale hit.
		_ = l.c.Delete(key)
		l.expired.Add(1)
		return nil, ErrNotFound
	}
	return v[expirySize:len(v):len(v)], nil
}

// Set stores a copy of value under key for ttl, capped at MaxTTL (ttl <= 0
// means MaxTTL). An entry larger than MaxEntryBytes is rejected with
// ErrTooLarge and any previous value of key is removed, so a failed update
// never leaves the old one behind.
func (l *L1) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if len(key)+len(value) > l.maxEntry || len(key) > maxKeyLen {
		l.tooLarge.Add(1)
		_ = l.c.Delete(key)
		return ErrTooLarge
	}
	if ttl <= 0 || ttl > l.maxTTL {
		ttl = l.maxTTL
	}
	exp := l.clock().Add(ttl).UnixNano()

	bp, _ := l.scratch.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	n := expirySize + len(value)
	if cap(*bp) < n {
		*bp = make([]byte, n)
	}
	buf := (*bp)[:n]
	binary.LittleEndian.PutUint64(buf, uint64(exp))
	copy(buf[expirySize:], value)
	err := l.c.Set(key, buf) // bigcache copies buf
	l.scratch.Put(bp)
	if err != nil {
		return fmt.Errorf("store: l1 set: %w", err)
	}
	return nil
}

// Delete removes keys; missing keys are ignored.
func (l *L1) Delete(_ context.Context, keys ...string) error {
	for _, k := range keys {
		_ = l.c.Delete(k) // the only error is "not found"
	}
	return nil
}

// Clear removes every entry, for example after the invalidation bus was
// disconnected and messages may have been missed.
func (l *L1) Clear() {
	_ = l.c.Reset()
}

// Len returns the number of entries held, including expired ones that no
// Get has removed yet.
func (l *L1) Len() int { return l.c.Len() }

// Bytes returns the bytes currently allocated for entries, which grows on
// demand up to MaxBytes.
func (l *L1) Bytes() int64 { return int64(l.c.Capacity()) }

// Stats returns a snapshot of the counters.
func (l *L1) Stats() L1Stats {
	s := l.c.Stats()
	expired := l.expired.Load()
	return L1Stats{
		Hits:       s.Hits - expired,
		Misses:     s.Misses + s.Collisions + expired,
		Expired:    expired,
		Collisions: s.Collisions,
		Evictions:  l.evictions.Load(),
		TooLarge:   l.tooLarge.Load(),
		Entries:    l.c.Len(),
		Bytes:      int64(l.c.Capacity()),
	}
}

// Close releases the cache's background resources. It is idempotent; the L1
// must not be used afterwards.
func (l *L1) Close() error {
	l.close.Do(func() { _ = l.c.Close() })
	return nil
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
