package core

import (
	"context"
	"time"

	"github.com/strata-cache/strata/store"
)

// Tier is a byte store with per-entry expiry: the cache's L2 (Config.L2), or any store an
// application plugs in (Redis through store/redisstore, memcached through store/memcached,
// the in-process store.L1). Implementations are safe for concurrent use and pass the
// conformance suite in store/storetest.
//
// A Tier logs its own failures (the cache counts them through Observer.Error) and bounds
// every call in time. A Tier knows nothing of HTTP: the cache encodes, verifies and decodes every value itself,
// so a Tier may return any bytes (a value another program wrote, cut or corrupted) and the
// cache treats what it cannot verify as a miss.
type Tier interface {
	// Get returns the value stored under key, or an error matching store.ErrNotFound on a
	// miss or after expiry. The caller owns the returned slice. Any other error is a tier
	// failure: the cache counts it and answers from another tier or the origin.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores a copy of value under key for ttl (ttl > 0). It may refuse a value too large
	// for it with store.ErrTooLarge.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes keys; a missing key is not an error.
	Delete(ctx context.Context, keys ...string) error
}

// Fleet is what the instances of a cache that share an L2 agree on: who fills a key, which
// entries a purge removes, and the keyed-hash secret. store/redisstore implements it over
// Redis; without one (Config.Fleet nil and an L2 that is not a Fleet), the cache uses an
// in-process fleet of one.
//
// Every method is bounded in time by the implementation, which logs its own failures; an
// error means the fleet could not be reached, and the cache then acts alone (fills without the lock, purges its own tiers).
type Fleet interface {
	// Lock takes the fill lock of key for ttl. ok is false, with no error, when another
	// holder has it. The token identifies this holder to Extend and Unlock.
	Lock(ctx context.Context, key string, ttl time.Duration) (token string, ok bool, err error)
	// Extend renews a held lock for ttl; ok is false when the lock is no longer the token's.
	Extend(ctx context.Context, key, token string, ttl time.Duration) (ok bool, err error)
	// Unlock releases a held lock; a lock that is no longer the token's is left alone.
	Unlock(ctx context.Context, key, token string) error

	// Publish sends an invalidation message to every subscribed instance, this one included.
	Publish(ctx context.Context, msg []byte) error
	// Subscribe delivers every published message to handler until stop is called. It calls
	// live(false) as soon as it finds the subscription broken (a dropped connection, or a hung
	// server that left a ping unanswered), from when on messages may be missed, and
	// live(true) once it is subscribed again (the messages sent in between are lost). The
	// cache drops its L1 at both, and caps its L1 lifetimes in between: the bound on how long
	// an instance can miss another's purge. Subscribe returns once the subscription is live,
	// or after a bounded wait when the fleet is unreachable (it keeps trying on its own).
	Subscribe(handler func(msg []byte), live func(up bool)) (stop func())

	// TagAdd records key under each tag for at least ttl.
	TagAdd(ctx context.Context, tags []string, key string, ttl time.Duration) error
	// TagPurge removes the tags and returns the keys that were recorded under them (and,
	// for a TagStamper, deletes their stamps).
	TagPurge(ctx context.Context, tags ...string) (keys []string, err error)

	// Generation returns the namespace generation (0 when none was set). NextGeneration
	// increments it and returns the new value: PurgeAll moves every instance to it.
	Generation(ctx context.Context) (uint64, error)
	NextGeneration(ctx context.Context) (uint64, error)

	// Secret returns the fleet's key secret, storing proposal as the secret when the fleet has
	// none yet, so that every instance ends with the first proposal made.
	Secret(ctx context.Context, proposal string) (string, error)
}

// TagStamper is implemented by a Fleet whose tag index may lose sets (Redis under an
// allkeys-* eviction policy evicts them, a restart without persistence loses them):
// store/redisstore implements it. With it, a purge by tag stays correct whatever the fleet
// loses: every tag has a stamp, a random value that TagPurge deletes and TagAddStamped
// creates again with a new value; an entry written to L2 records the stamps its tags had,
// and an L2 read of a tagged entry compares them with TagStamps (one round trip), so an
// entry whose tag was purged since, or whose stamp was evicted, is a miss (and is deleted),
// never stale. A Fleet without it relies on its tag sets alone.
type TagStamper interface {
	// TagAddStamped is TagAdd, and returns the current stamp of each tag, in the order
	// of tags, creating those missing.
	TagAddStamped(ctx context.Context, tags []string, key string, ttl time.Duration) (stamps []string, err error)
	// TagStamps returns the current stamp of each tag, in the order of tags, "" for a tag
	// without one.
	TagStamps(ctx context.Context, tags []string) (stamps []string, err error)
}

// TierStats is implemented by a Tier that counts its calls (store/redisstore does); Stats
// reports it.
type TierStats interface {
	Stats() store.TierStats
}

// ErrNotFound is what a Tier's Get returns on a miss (the same value as store.ErrNotFound).
var ErrNotFound = store.ErrNotFound
