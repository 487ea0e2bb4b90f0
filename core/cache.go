package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

	flights flights
	l2reads singleflight.Group
	hfm     marks
	tags    tagIndex

	hitStatus [1024]string

	logMu   sync.Mutex
	logLast map[string]time.Time
}

// New validates cfg, fills its defaults and builds the tiers. With Redis configured it reads
// the namespace generation and subscribes to the invalidation channel.
func New(cfg Config) (*Cache, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cache{cfg: cfg, logLast: make(map[string]time.Time)}
	c.hfm.max = 100_000
	c.initStatus()
	if !cfg.DisableL1 {
		c.l1, err = store.NewL1(store.L1Config{MaxBytes: cfg.L1MaxBytes, Shards: l1Shards(cfg), Clock: cfg.Clock})
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
	if c.l2 != nil {
		c.loadGen(context.Background())
		c.subscribe()
	}
	return c, nil
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

// Close stops the invalidation subscriber and releases the L1 (and the Redis client when the
// cache built it from RedisURL).
func (c *Cache) Close() error {
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
// entry of MaxBodyBytes plus its fields: bigcache places an entry only in half a shard.
func l1Shards(cfg Config) int {
	shards := 256
	for shards > 1 && cfg.L1MaxBytes/shards/2-32 < cfg.MaxBodyBytes+16<<10 {
		shards /= 2
	}
	return shards
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
// A context error (the client went away) is returned as is; store errors become misses.
func (c *Cache) get(ctx context.Context, key string) ([]byte, string, error) {
	if c.l1 != nil {
		b, err := c.l1.Get(ctx, key)
		if err == nil {
			return b, "l1", nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			c.storeErr("l1", "get", err)
		}
	}
	if c.l2 == nil {
		return nil, "", store.ErrNotFound
	}
	// Concurrent lookups of one key in this process share one Redis GET (and one promotion),
	// so a hot key that leaves L1 costs Redis one call, not one per waiting request. The
	// shared call runs on the first caller's goroutine, detached from its client and bounded
	// by the store's timeout (a client that leaves waits at most that long); the result is
	// read-only.
	v, err, _ := c.l2reads.Do(key, func() (any, error) {
		b, err := c.l2.Get(context.WithoutCancel(ctx), key)
		if err != nil {
			return nil, err
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

// remaining reads the tier expiry of an encoded entry or vary record.
func remaining(b []byte, now time.Time) time.Duration {
	if len(b) > 0 && b[0] == kindVary {
		return 24 * time.Hour
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
	if c.l2 == nil {
		return
	}
	if err := c.l2.Set(ctx, key, b, ttl); err != nil && ctx.Err() == nil {
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
			for _, h := range v.variants {
				keys = append(keys, string(appendVariant([]byte(base), h)))
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
