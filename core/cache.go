package core

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zeebo/xxh3"

	"github.com/strata-cache/strata/internal/ratelog"
	"github.com/strata-cache/strata/store"
)

// Cache is an RFC 9111 shared HTTP cache over an in-process L1 and an optional shared L2.
// It is safe for concurrent use. Create it with New; Close releases it.
type Cache struct {
	cfg Config

	l1      memTier     // store.L1, or noTier with DisableL1
	hot     *hotSet     // decoded view of the hottest L1 entries (nil: off)
	l2      Tier        // Config.L2, or noTier
	fleet   Fleet       // Config.Fleet, L2 when it is one, or local
	local   *localFleet // this instance alone (its tag index follows the L1)
	stopSub func()

	gen      atomic.Uint64 // namespace generation (PurgeAll bumps it)
	unusable atomic.Uint64 // L2 values read that are no record of this cache (see Stats)
	outdated atomic.Uint64 // L2 entries read whose tags were purged since, or could not be checked
	id       string        // this instance, in its bus messages
	fences   fences        // purges by key, against late fills (fence.go)
	intents  intents       // purges the fleet could not be told of yet (intent.go)
	wakers   wakers        // requests waiting for another instance's fill (wake.go)
	tags     tagFence      // purges by tag, against late fills (fence.go)

	mac          *macer              // Config.EntryMACKey's (nil: none)
	seed         atomic.Uint64       // keyed-hash seed (see hashKey)
	secretMu     sync.Mutex          // guards secret
	secret       string              // the fleet's key secret, once read from the fleet
	keysShared   atomic.Bool         // seed is the fleet's: L2 may be used for entries
	busDown      atomic.Bool         // the fleet's bus is broken: another instance's purge cannot reach this one
	busLive      atomic.Bool         // the bus was live once (a later live is a reconnection)
	hash         func([]byte) uint64 // tests only: replaces the keyed hash
	trusted      []string            // Config.TrustHeaders, canonical and sorted
	trustProto   bool                // X-Forwarded-Proto is trusted (the key's scheme)
	implicitVary []string            // request fields every stored answer varies on (trusted fields, Host)
	done         chan struct{}       // closed by Close
	closeOnce    sync.Once

	flights   flights
	l2reads   l2reads
	hfm       marks
	due       marks     // keys whose refresh was left to the next request (see revalidateAfter)
	backoff   marks     // keys whose last background refresh failed (see refreshBackoff)
	refreshes refreshes // background refreshes on goroutines of their own

	hitStatus [1024]string

	logs sync.Map // tier+op → *ratelog.Slot
}

// New validates cfg, fills its defaults and builds the L1. With a fleet (Config.Fleet, or an L2
// that is one) it reads the key secret and the namespace generation, and subscribes to the
// invalidation bus.
func New(cfg Config) (*Cache, error) {
	return newCache(cfg, nil)
}

// newCacheWithHash is New with the keyed hash replaced, for tests that force collisions.
func newCacheWithHash(cfg Config, hash func([]byte) uint64) (*Cache, error) {
	return newCache(cfg, hash)
}

func newCache(cfg Config, hash func([]byte) uint64) (*Cache, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var id [idLen / 2]byte
	_, _ = rand.Read(id[:])
	c := &Cache{cfg: cfg, hash: hash, done: make(chan struct{}), id: hex.EncodeToString(id[:]),
		mac: newMacer(cfg.EntryMACKey)}
	for _, f := range cfg.TrustHeaders {
		f = http.CanonicalHeaderKey(f)
		if !slices.Contains(c.trusted, f) {
			c.trusted = append(c.trusted, f)
		}
	}
	slices.Sort(c.trusted)
	if slices.Contains(c.trusted, "X-Forwarded-Host") {
		c.cfg.TrustForwardedHost = true
	}
	c.trustProto = slices.Contains(c.trusted, "X-Forwarded-Proto")
	for _, f := range c.trusted {
		if f != "X-Forwarded-Proto" && f != "X-Forwarded-Host" { // keyed as scheme and host
			c.implicitVary = append(c.implicitVary, f)
		}
	}
	if c.cfg.TrustForwardedHost && cfg.Host == "" {
		// The key's host is the forwarded one; the Host the request arrived with, which a
		// handler may reflect as well, selects the variant.
		c.implicitVary = append(c.implicitVary, "Host")
	}
	c.hfm.max = 100_000
	c.due.max = 100_000
	c.backoff.max = 100_000
	c.refreshes.init()
	c.initStatus()
	c.local = &localFleet{tags: newTagIndex(cfg.L1MaxBytes/256, cfg.TagIndexBytes,
		func(keys []string) { c.l1Delete(context.Background(), keys...) })}
	c.l1, c.l2, c.fleet = noTier{}, noTier{}, c.local
	if !cfg.DisableL1 {
		l1, err := store.NewL1(store.L1Config{MaxBytes: cfg.L1MaxBytes, Shards: l1Shards(cfg), Clock: cfg.Clock,
			OnRemove: c.l1Removed})
		if err != nil {
			return nil, fmt.Errorf("core: L1: %w", err)
		}
		c.l1, c.hot = l1, newHotSet(cfg.HotBytes)
	}
	if cfg.L2 != nil {
		c.l2 = cfg.L2
	}
	switch f, ok := cfg.L2.(Fleet); {
	case cfg.Fleet != nil:
		c.fleet = cfg.Fleet
	case ok:
		c.fleet = f
	}
	c.initSecret()
	c.setGen(c.loadGen(context.Background()))
	c.intents.init()
	// Until the bus says it is live, another instance's purge may not reach this one.
	c.busDown.Store(c.fleet != Fleet(c.local))
	c.stopSub = c.fleet.Subscribe(c.onMessage, c.onBus)
	go c.replayIntents()
	return c, nil
}

// initSecret seeds the keyed hash: from Config.KeySecret, else from the fleet's secret
// (created by the first instance; an instance alone keeps its own random one). Until an
// instance has the fleet's secret (the fleet unreachable at start), it keeps entries out of
// L2, its tags in its own index, and retries every second.
func (c *Cache) initSecret() {
	if len(c.cfg.KeySecret) > 0 {
		c.seed.Store(xxh3.Hash(c.cfg.KeySecret))
		c.keysShared.Store(true)
		return
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	c.seed.Store(binary.LittleEndian.Uint64(b[:]))
	if !c.loadSecret() {
		go c.retrySecret()
	}
}

// loadSecret reads the fleet's key secret, proposing this instance's own (or a new random
// one) when the fleet has none: after a Redis restart lost it, the first instance to reconnect
// re-creates it with the value it uses, and the others adopt it, so the fleet converges.
func (c *Cache) loadSecret() bool {
	c.secretMu.Lock()
	defer c.secretMu.Unlock()
	proposal := c.secret
	if proposal == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		proposal = hex.EncodeToString(b[:])
	}
	v, err := c.fleet.Secret(context.Background(), proposal)
	if err != nil || v == "" {
		return false
	}
	c.secret = v
	if s := xxh3.HashString(v); s != c.seed.Load() {
		c.seed.Store(s)
		c.clearL1() // entries keyed with another secret are unreachable now
	}
	c.keysShared.Store(true)
	return true
}

func (c *Cache) retrySecret() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if c.loadSecret() {
				return
			}
		}
	}
}

// shared returns the L2 and the fleet that entries and their tags go to: the configured ones
// once this instance has the fleet's key secret; before, none and the in-process fleet, so
// entries stay in L1 and their tags in the local index.
func (c *Cache) shared() (Tier, Fleet) {
	if c.keysShared.Load() {
		return c.l2, c.fleet
	}
	return noTier{}, c.local
}

// Close cancels the background refreshes in progress and waits for them to return, stops the
// invalidation subscriber and releases the L1. The L2 and the fleet are the caller's to close.
func (c *Cache) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	c.refreshes.close()
	c.stopSub()
	return c.l1.Close()
}

// l1Shards picks the most shards (less lock contention) that still let a shard hold an
// entry of MaxEntryBytes and its key: bigcache places an entry only in half a shard.
func l1Shards(cfg Config) int {
	shards := 256
	for shards > 1 && cfg.L1MaxBytes/shards/2-32 < cfg.MaxEntryBytes+1<<10 {
		shards /= 2
	}
	return shards
}

// l1Removed follows an entry out of the L1 (evicted, expired or deleted): the hot set and the
// tag index must not keep it, or a purge by tag would miss it there. It runs under an L1
// shard's lock, so it must not call the L1.
func (c *Cache) l1Removed(key string) {
	c.hot.del(key)
	c.local.tags.forget(key)
}

// clearL1 empties the L1 and its hot set.
func (c *Cache) clearL1() {
	c.hot.clear()
	c.l1.Clear()
}

func (c *Cache) now() time.Time { return c.cfg.Clock() }

// onBus follows the fleet's bus going down or coming back. While it is down, another
// instance's purge cannot reach this one: the L1 goes at once, and until the bus is back,
// L1 entries live at most Config.OutageL1TTL (l1Set). So an instance serves a purged entry
// at most the bus's detection time (redisstore: twice its SubscribeHealthCheck) or
// OutageL1TTL after the purge, whatever the fleet's store does.
func (c *Cache) onBus(up bool) {
	if !up {
		c.busDown.Store(true)
		c.clearL1()
		return
	}
	if c.busLive.Swap(true) {
		c.onReconnect() // messages were lost in between; the first subscription lost none
	}
	c.busDown.Store(false)
}

// onReconnect follows a fleet reconnection: invalidations may have been missed while
// disconnected, so the L1 goes, and the generation and the secret (a restarted Redis may
// have lost it) are read again.
func (c *Cache) onReconnect() {
	c.intents.kick()
	c.clearL1()
	c.local.tags.reset()
	c.setGen(c.loadGen(context.Background()))
	if len(c.cfg.KeySecret) == 0 {
		c.loadSecret()
	}
}

// loadGen reads the fleet's namespace generation (0 when it cannot).
func (c *Cache) loadGen(ctx context.Context) uint64 {
	n, err := c.fleet.Generation(ctx)
	if err != nil {
		c.storeErr(TierL2, OpGeneration, err)
	}
	return n
}

// setGen only moves forward, so a late message cannot resurrect purged entries.
func (c *Cache) setGen(g uint64) {
	for {
		cur := c.gen.Load()
		if g <= cur || c.gen.CompareAndSwap(cur, g) {
			return
		}
	}
}

// ---- tiers ----

// get reads a key from L1, then L2; an L2 hit is promoted to L1 with its remaining lifetime.
// A context error (the client went away) is returned as is; store errors become misses, and
// so does an empty value (it is deleted).
func (c *Cache) get(ctx context.Context, key string) ([]byte, TierName, error) {
	b, err := c.l1.Get(ctx, key)
	if err == nil && len(b) > 0 {
		return b, TierL1, nil
	}
	if err == nil {
		c.l1Delete(ctx, key)
	} else if !errors.Is(err, store.ErrNotFound) {
		c.storeErr(TierL1, OpGet, err)
	}
	if c.flights.inFlight(key) {
		// This process fills key already: the request waits for that fill (a stampede's
		// followers then cost Redis nothing, and leave the leader's lock and store calls
		// the connections).
		return nil, "", store.ErrNotFound
	}
	l2, _ := c.shared()
	// Concurrent lookups of one key in this process share one Redis GET (and one promotion),
	// so a hot key that leaves L1 costs Redis one call, not one per waiting request. The
	// shared call runs on the first caller's goroutine, detached from its client and bounded
	// by the store's timeout (a client that leaves waits at most that long); the result is
	// read-only.
	v, err := c.l2reads.do(ctx, key, func(detached context.Context) ([]byte, error) {
		// A purge of the key while it is read must not be undone by the promotion: the
		// fence is read before, and checked after the L1 write (see fence.go).
		// The same for a purge by tag (the tag fence), read before the tags' stamps are.
		hash, hashed := keyHashOf(key)
		fence, tagSeq := c.fences.load(hash), c.tags.seq.Load()
		b, err := l2.Get(detached, key)
		if err != nil {
			return nil, err
		}
		if c.intents.tombstoned(key) {
			return nil, store.ErrNotFound // purged while the tier was unreachable
		}
		// Not a record of this cache (empty, another format, truncated, garbage), not
		// written by the fleet (MAC), or one of its tags purged since: never served.
		b, tags, verdict := c.checkL2(ctx, key, b)
		if verdict != l2OK {
			c.rejectL2(ctx, key, verdict)
			return nil, store.ErrNotFound
		}
		if c.cfg.DisableL1 && len(tags) == 0 {
			// No L1 to copy it to, nor tags for the local index: promote would decode
			// the entry again for nothing.
			return b, nil
		}
		purged := func() bool {
			return (hashed && c.fences.load(hash) != fence) || c.tags.since(tagSeq, tags)
		}
		c.promote(context.Background(), key, b, tags, purged)
		return b, nil
	})
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	if err != nil {
		if errors.Is(err, store.ErrUnavailable) {
			return nil, "", errL2Open // not asked: its breaker is open
		}
		if !errors.Is(err, store.ErrNotFound) {
			c.storeErr(TierL2, OpGet, err)
		}
		return nil, "", store.ErrNotFound
	}
	return v, TierL2, nil
}

// drop deletes a value that is not a readable record of this cache (empty, truncated,
// corrupt, another format or version) from every tier: it is a miss, never served.
func (c *Cache) drop(ctx context.Context, key string) {
	c.l1Delete(ctx, key)
	c.l2Delete(ctx, key)
}

// remaining reads the tier expiry of an encoded entry or vary record.
func remaining(b []byte, now time.Time) time.Duration {
	if kindOf(b) == kindVary {
		var v varyRecord
		if decodeVary(b, &v) != nil {
			return 0
		}
		var exp int64
		for _, s := range v.variants {
			exp = max(exp, s.expires)
		}
		return time.Duration(exp - now.UnixNano())
	}
	var e entry
	if decodeEntry(b, &e) != nil {
		return 0
	}
	return time.Duration(e.expires - now.UnixNano())
}

func (c *Cache) l1Set(ctx context.Context, key string, b []byte, ttl time.Duration) {
	c.hot.del(key)
	down := c.busDown.Load()
	if down && c.cfg.OutageL1TTL > 0 {
		ttl = min(ttl, c.cfg.OutageL1TTL)
	}
	if err := c.l1.Set(ctx, key, b, ttl); err != nil && !errors.Is(err, store.ErrTooLarge) {
		c.storeErr(TierL1, OpSet, err)
	}
	if !down && c.busDown.Load() {
		c.l1Delete(ctx, key) // the bus broke meanwhile, after onBus cleared the L1
	}
}

// promote copies an entry read from L2 into L1 for its remaining lifetime, unless purged
// reports a purge since the read began; one that comes during the write deletes it again.
func (c *Cache) promote(ctx context.Context, key string, raw []byte, tags []string, purged func() bool) {
	if ttl := remaining(raw, c.now()); ttl > 0 && !purged() {
		c.l1SetTagged(ctx, key, raw, ttl, tags)
		if purged() {
			c.l1Delete(ctx, key)
		}
	}
}

// l1SetTagged writes an entry to L1 and indexes it under its tags in this instance's tag
// index, which purges by tag read to delete L1 copies (the fleet's index may have lost them).
func (c *Cache) l1SetTagged(ctx context.Context, key string, b []byte, ttl time.Duration, tags []string) {
	c.l1Set(ctx, key, b, ttl)
	if len(tags) > 0 {
		_ = c.local.TagAdd(ctx, tags, key, ttl)
	}
}

func (c *Cache) l2Set(ctx context.Context, key string, b []byte, ttl time.Duration) {
	l2, _ := c.shared()
	if err := l2.Set(ctx, key, b, ttl); err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrTooLarge) {
		c.storeErr(TierL2, OpSet, err)
	}
}

// l2Delete deletes keys from the shared tier, whatever the caller's context.
func (c *Cache) l2Delete(ctx context.Context, keys ...string) {
	if len(keys) == 0 {
		return
	}
	l2, _ := c.shared()
	if err := l2.Delete(context.WithoutCancel(ctx), keys...); err != nil {
		c.storeErr(TierL2, OpDelete, err)
		c.intents.addDeletes(keys) // tombstoned here, deleted when the tier answers again
	}
}

func (c *Cache) l1Delete(ctx context.Context, keys ...string) {
	if len(keys) == 0 {
		return
	}
	for _, k := range keys {
		c.hot.del(k)
	}
	if err := c.l1.Delete(ctx, keys...); err != nil && !errors.Is(err, store.ErrNotFound) {
		c.storeErr(TierL1, OpDelete, err)
	}
}

// l1DeleteURL deletes a URL's base key and the variants this instance's L1 knows of, and
// returns those keys.
func (c *Cache) l1DeleteURL(ctx context.Context, base string) []string {
	keys := []string{base}
	if b, err := c.l1.Get(ctx, base); err == nil && kindOf(b) == kindVary {
		var v varyRecord
		if decodeVary(b, &v) == nil {
			for _, s := range v.variants {
				keys = append(keys, string(appendVariant([]byte(base), s.hash)))
			}
		}
	}
	c.l1Delete(ctx, keys...)
	return keys
}

// storeErr counts a failed tier or fleet call. The L2 and the fleet log their own failures
// (Tier's contract), so only the L1's are logged here: a failing Redis costs the log one
// line per failure kind and second, not two.
func (c *Cache) storeErr(tier TierName, op Op, err error) {
	if errors.Is(err, store.ErrUnavailable) {
		return // the open breaker: counted once by the store as a rejection, not an error
	}
	if c.cfg.Observer != nil {
		c.cfg.Observer.Error(tier, op)
	}
	if tier == TierL1 {
		c.logErr(string(tier), string(op), err)
	}
}

// logErr logs at most one line per second per tier and operation.
func (c *Cache) logErr(tier, op string, err error) {
	k := tier + op
	// The wall clock, not Config.Clock: the limit is a budget of log lines per real second
	// of the operator's log. The injected clock drives freshness; a test clock held still
	// would silence every line after the first, and one moved by hours would let every
	// line through.
	s, _ := c.logs.Load(k)
	if s == nil {
		s, _ = c.logs.LoadOrStore(k, new(ratelog.Slot))
	}
	ok, n := s.(*ratelog.Slot).Allow(time.Now(), time.Second)
	if !ok {
		return
	}
	args := []any{"tier", tier, "op", op, "err", err}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	c.cfg.Logger.Warn("strata: cache store error", args...)
}
