// Package store holds Strata's byte stores: an in-process L1 over bigcache
// and a shared L2 over Redis, behind one small interface, plus the Redis
// features a fleet of cache instances shares: a stampede lock, an
// invalidation bus and a tag index. Stores know nothing of HTTP; core
// composes them.
//
// # Store
//
// [Store] is Get, Set with a TTL, and Delete of many keys. A miss or an
// expired entry is [ErrNotFound]; an entry a store cannot hold is
// [ErrTooLarge]. The caller owns every slice Get returns. Every
// implementation passes the conformance suite in store/storetest.
//
// # L1
//
// [NewL1] creates a byte-bounded bigcache. bigcache has one life window for
// the whole cache, so each entry carries its own expiry, 8 bytes in front of
// the value, checked on Get (an expired entry is deleted and reported as a
// miss). Time comes from [L1Config].Clock, so expiry is testable without
// sleeping. An entry larger than what bigcache can always place in a shard
// is refused with ErrTooLarge instead of letting bigcache empty the shard.
//
// # Redis
//
// [NewRedis] wraps any go-redis [redis.UniversalClient]: a single node, a
// Sentinel failover client, a Cluster or a Ring; [NewRedisFromURL] builds
// and owns one. Keys are used as given: core builds them with a {hash tag}
// per URL, so a URL's keys share a Cluster slot and Delete removes them with
// one DEL. The store's own keys (tag sets, the pub/sub channel) live under
// [RedisOptions].Prefix.
//
// Every call is bounded by [RedisOptions].Timeout and guarded by a circuit
// breaker: after BreakerFailures consecutive failures, calls return
// [ErrUnavailable] at once, without touching the network, for
// BreakerCooldown; then a single probe call decides whether it closes. A
// call whose caller's context ends (the HTTP client went away) returns
// ctx.Err() and does not count as a Redis failure; running out of the
// store's own Timeout does, and returns an error wrapping [ErrTimeout].
// Failures are counted ([Redis.Stats]) and logged through log/slog at most
// once per second per kind of call.
//
// # Lock
//
// [Redis.Lock] takes a fleet-wide lock with SET NX PX and a random token;
// [Redis.Unlock] and [Redis.Extend] act only while the token still holds the
// lock (Lua compare-and-delete, compare-and-pexpire), so a holder whose lock
// expired cannot release someone else's.
//
// # Invalidation bus
//
// [Redis.Publish] sends a message on the channel; [Redis.Subscribe] runs a
// goroutine that delivers messages to a handler and reconnects by itself
// after an outage, including a hung server (detected by PING), then calls
// [RedisOptions].OnReconnect so that the caller can drop what it may have
// missed, such as its L1. [Redis.InstanceID] lets a publisher mark its own
// messages.
//
// # Tags
//
// [Redis.TagAdd] indexes a key under tags, one set per tag at
// <Prefix>:tag:{<tag>}, whose expiry only ever grows to cover its longest
// lived member. [Redis.TagPurge] reads and deletes the sets atomically and
// returns the keys to delete; no KEYS or SCAN is ever used. [Redis.Incr] and
// [Redis.GetInt] keep counters such as core's namespace generation.
package store
