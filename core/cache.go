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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zeebo/xxh3"
	"golang.org/x/sync/singleflight"

	"github.com/strata-cache/strata/store"
)

// Cache is an RFC 9111 shared HTTP cache over an in-process L1 and an optional Redis L2.
// It is safe for concurrent use. Create it with New; Close releases it.
type Cache struct {
	cfg Config

	l1        *store.L1
	hot       *hotSet // decoded view of the hottest L1 entries (nil: off)
	l2        *store.Redis
	ownsRedis bool
	stopSub   func()

	gen atomic.Uint64 // namespace generation (PurgeAll bumps it)

	seed         atomic.Uint64       // keyed-hash seed (see hashKey)
	secretMu     sync.Mutex          // guards secret
	secret       string              // the fleet's key secret, once read from Redis
	keysShared   atomic.Bool         // seed is the fleet's: L2 may be used for entries
	hash         func([]byte) uint64 // tests only: replaces the keyed hash
	trusted      []string            // Config.TrustHeaders, canonical and sorted
	trustProto   bool                // X-Forwarded-Proto is trusted (the key's scheme)
	implicitVary []string            // request fields every stored answer varies on (trusted fields, Host)
	done         chan struct{}       // closed by Close
	closeOnce    sync.Once

	flights   flights
	l2reads   singleflight.Group
	hfm       marks
	due       marks     // keys whose refresh was left to the next request (see revalidateAfter)
	refreshes refreshes // background refreshes on goroutines of their own
	tags      *tagIndex // without Redis

	hitStatus [1024]string

	logMu   sync.Mutex
	logLast map[string]time.Time
}

// New validates cfg, fills its defaults and builds the tiers. With Redis configured it reads
// the namespace generation and subscribes to the invalidation channel.
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
	c := &Cache{cfg: cfg, logLast: make(map[string]time.Time), hash: hash, done: make(chan struct{})}
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
	c.refreshes.init()
	c.initStatus()
	c.tags = newTagIndex(cfg.L1MaxBytes/256, cfg.TagIndexBytes,
		func(keys []string) { c.l1Delete(context.Background(), keys...) })
	if !cfg.DisableL1 {
		c.l1, err = store.NewL1(store.L1Config{MaxBytes: cfg.L1MaxBytes, Shards: l1Shards(cfg), Clock: cfg.Clock,
			OnRemove: c.l1Removed})
		if err != nil {
			return nil, fmt.Errorf("core: L1: %w", err)
		}
		c.hot = newHotSet(cfg.HotBytes)
	}
	ropts := store.RedisOptions{
		Prefix:          cfg.Namespace,
		Timeout:         cfg.RedisTimeout,
		BreakerFailures: cfg.BreakerFailures,
		BreakerCooldown: cfg.BreakerCooldown,
		Logger:          cfg.Logger,
		Usable:          usable, // an entry this version cannot decode is a miss, not a hit
		// Invalidations may have been missed while disconnected: drop the L1 and re-read
		// the namespace generation.
		OnReconnect: func() { c.onReconnect() },
	}
	switch {
	case cfg.Redis != nil:
		c.l2, err = store.NewRedis(cfg.Redis, ropts)
	case cfg.RedisURL != "":
		c.l2, err = store.NewRedisFromURL(cfg.RedisURL, ropts)
		c.ownsRedis = true
	}
	if err != nil {
		_ = c.closeL1()
		return nil, fmt.Errorf("core: L2: %w", err)
	}
	c.initSecret()
	if c.l2 != nil {
		c.loadGen(context.Background())
		c.subscribe()
	}
	return c, nil
}

// initSecret seeds the keyed hash: from Config.KeySecret, else from the fleet's secret in
// Redis (created by the first instance), else at random for this process. Until an instance
// with an L2 has the fleet's secret (Redis down at start), it keeps entries out of L2 and
// retries every second.
func (c *Cache) initSecret() {
	if len(c.cfg.KeySecret) > 0 {
		c.seed.Store(xxh3.Hash(c.cfg.KeySecret))
		c.keysShared.Store(true)
		return
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	c.seed.Store(binary.LittleEndian.Uint64(b[:]))
	if c.l2 == nil {
		c.keysShared.Store(true)
		return
	}
	if !c.loadSecret() {
		go c.retrySecret()
	}
}

func (c *Cache) secretKey() string { return c.cfg.Namespace + ":secret" }

// loadSecret reads the fleet's key secret, proposing this instance's own (or a new random
// one) when Redis has none: after a Redis restart lost it, the first instance to reconnect
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
	v, err := c.l2.GetOrSet(context.Background(), c.secretKey(), proposal)
	if err != nil || v == "" {
		return false
	}
	c.secret = v
	if s := xxh3.HashString(v); s != c.seed.Load() {
		c.seed.Store(s)
		if c.l1 != nil { // entries keyed with another secret are unreachable now
			c.hot.clear()
			c.l1.Clear()
		}
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

// shared returns the L2 for entries, or nil when there is none or this instance does not have
// the fleet's key secret yet.
func (c *Cache) shared() *store.Redis {
	if c.l2 != nil && c.keysShared.Load() {
		return c.l2
	}
	return nil
}

// subscribe starts the invalidation subscriber and waits (up to a second) until it receives
// its own hello, so that no invalidation published after New returns can be missed. A Redis
// that is down at start does not fail New: the subscriber keeps trying on its own.
func (c *Cache) subscribe() {
	hello := "P" + c.l2.InstanceID()
	ready := make(chan struct{})
	var once sync.Once
	c.stopSub = c.l2.Subscribe(func(msg []byte) {
		if string(msg) == hello {
			once.Do(func() { close(ready) })
			return
		}
		c.onMessage(msg)
	})
	deadline := time.After(time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		_ = c.l2.Publish(context.Background(), []byte(hello))
		select {
		case <-ready:
			return
		case <-deadline:
			return
		case <-tick.C:
		}
	}
}

// Close cancels the background refreshes in progress and waits for them to return, stops the
// invalidation subscriber and releases the L1 (and the Redis client when the cache built it
// from RedisURL).
func (c *Cache) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	c.refreshes.close()
	if c.stopSub != nil {
		c.stopSub()
	}
	var errs []error
	if c.ownsRedis && c.l2 != nil {
		errs = append(errs, c.l2.Close())
	}
	errs = append(errs, c.closeL1())
	return errors.Join(errs...)
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
	c.tags.forget(key)
}

func (c *Cache) closeL1() error {
	if c.l1 != nil {
		return c.l1.Close()
	}
	return nil
}

func (c *Cache) now() time.Time { return c.cfg.Clock() }

func (c *Cache) onReconnect() {
	if c.l1 != nil {
		c.hot.clear()
		c.l1.Clear()
	}
	c.tags.reset()
	if c.l2 != nil {
		c.loadGen(context.Background())
		if len(c.cfg.KeySecret) == 0 {
			c.loadSecret() // Redis may have restarted and lost it
		}
	}
}

// genKey holds the namespace generation in Redis.
func (c *Cache) genKey() string { return c.cfg.Namespace + ":gen" }

func (c *Cache) loadGen(ctx context.Context) {
	n, err := c.l2.GetInt(ctx, c.genKey())
	if err == nil && n > 0 {
		c.setGen(uint64(n))
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.logErr("l2", "gen", err)
	}
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

// The invalidation bus carries three messages:
//
//	"K" + keys joined by "\n"  — delete these keys from L1
//	"U" + base key             — delete a URL (base and the variants this instance knows)
//	"G" + decimal generation   — PurgeAll happened: move to that generation
func (c *Cache) onMessage(msg []byte) {
	if len(msg) < 1 {
		return
	}
	ctx := context.Background()
	body := string(msg[1:])
	switch msg[0] {
	case 'K':
		for body != "" {
			var k string
			k, body, _ = strings.Cut(body, "\n")
			c.l1Delete(ctx, k)
		}
	case 'U':
		c.l1DeleteURL(ctx, body)
	case 'G':
		if g, err := strconv.ParseUint(body, 10, 64); err == nil {
			c.setGen(g)
		}
	case 'P': // another instance's hello
	}
}

// ---- tiers ----

// get reads a key from L1, then L2; an L2 hit is promoted to L1 with its remaining lifetime.
// A context error (the client went away) is returned as is; store errors become misses, and
// so does an empty value (it is deleted).
func (c *Cache) get(ctx context.Context, key string) ([]byte, string, error) {
	if c.l1 != nil {
		b, err := c.l1.Get(ctx, key)
		if err == nil && len(b) > 0 {
			return b, "l1", nil
		}
		if err == nil {
			c.l1Delete(ctx, key)
		} else if !errors.Is(err, store.ErrNotFound) {
			c.storeErr("l1", "get", err)
		}
	}
	l2 := c.shared()
	if l2 == nil {
		return nil, "", store.ErrNotFound
	}
	// Concurrent lookups of one key in this process share one Redis GET (and one promotion),
	// so a hot key that leaves L1 costs Redis one call, not one per waiting request. The
	// shared call runs on the first caller's goroutine, detached from its client and bounded
	// by the store's timeout (a client that leaves waits at most that long); the result is
	// read-only.
	v, err, _ := c.l2reads.Do(key, func() (any, error) {
		b, err := l2.Get(context.WithoutCancel(ctx), key)
		if errors.Is(err, store.ErrUnusable) {
			// Not an entry of this cache (another format, truncated, garbage): never served,
			// and deleted so that it stops costing a read.
			_ = l2.Delete(context.WithoutCancel(ctx), key)
		}
		if err != nil {
			return nil, err
		}
		if len(b) == 0 {
			_ = l2.Delete(context.WithoutCancel(ctx), key)
			return nil, store.ErrNotFound
		}
		if c.l1 != nil {
			if ttl := remaining(b, c.now()); ttl > 0 {
				c.l1Set(context.Background(), key, b, ttl)
			}
		}
		return b, nil
	})
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			c.storeErr("l2", "get", err)
		}
		return nil, "", store.ErrNotFound
	}
	return v.([]byte), "l2", nil
}

// drop deletes a value that is not a readable record of this cache (empty, truncated,
// corrupt, another format or version) from every tier: it is a miss, never served.
func (c *Cache) drop(ctx context.Context, key string) {
	c.l1Delete(ctx, key)
	if l2 := c.shared(); l2 != nil {
		if err := l2.Delete(context.WithoutCancel(ctx), key); err != nil {
			c.storeErr("l2", "delete", err)
		}
	}
}

// remaining reads the tier expiry of an encoded entry or vary record.
func remaining(b []byte, now time.Time) time.Duration {
	if len(b) > 0 && b[0] == kindVary {
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
	if c.l1 == nil {
		return
	}
	c.hot.del(key)
	if err := c.l1.Set(ctx, key, b, ttl); err != nil && !errors.Is(err, store.ErrTooLarge) {
		c.storeErr("l1", "set", err)
	}
}

func (c *Cache) l2Set(ctx context.Context, key string, b []byte, ttl time.Duration) {
	l2 := c.shared()
	if l2 == nil {
		return
	}
	if err := l2.Set(ctx, key, b, ttl); err != nil && ctx.Err() == nil {
		c.storeErr("l2", "set", err)
	}
}

func (c *Cache) l1Delete(ctx context.Context, keys ...string) {
	if c.l1 == nil || len(keys) == 0 {
		return
	}
	for _, k := range keys {
		c.hot.del(k)
	}
	if err := c.l1.Delete(ctx, keys...); err != nil && !errors.Is(err, store.ErrNotFound) {
		c.storeErr("l1", "delete", err)
	}
}

// l1DeleteURL deletes a URL's base key and the variants this instance's L1 knows of.
func (c *Cache) l1DeleteURL(ctx context.Context, base string) {
	if c.l1 == nil {
		return
	}
	keys := []string{base}
	if b, err := c.l1.Get(ctx, base); err == nil && len(b) > 0 && b[0] == kindVary {
		var v varyRecord
		if decodeVary(b, &v) == nil {
			for _, s := range v.variants {
				keys = append(keys, string(appendVariant([]byte(base), s.hash)))
			}
		}
	}
	c.l1Delete(ctx, keys...)
}

func (c *Cache) storeErr(tier, op string, err error) {
	if errors.Is(err, store.ErrUnavailable) {
		return // the open breaker: counted once by the store as a rejection, not an error
	}
	if c.cfg.Observer != nil {
		c.cfg.Observer.Error(tier, op)
	}
	c.logErr(tier, op, err)
}

// logErr logs at most one line per second per tier and operation.
func (c *Cache) logErr(tier, op string, err error) {
	k := tier + op
	// The wall clock, not Config.Clock: the limit is a budget of log lines per real second
	// of the operator's log. The injected clock drives freshness; a test clock held still
	// would silence every line after the first, and one moved by hours would let every
	// line through.
	now := time.Now()
	c.logMu.Lock()
	last := c.logLast[k]
	ok := now.Sub(last) >= time.Second
	if ok {
		c.logLast[k] = now
	}
	c.logMu.Unlock()
	if ok {
		c.cfg.Logger.Warn("strata: cache store error", "tier", tier, "op", op, "err", err)
	}
}
