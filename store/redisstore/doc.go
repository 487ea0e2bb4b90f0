// Package redisstore is Strata's Redis tier: a byte tier
// (core.Tier) and the fleet of cache instances sharing it (core.Fleet): a
// stampede lock, an invalidation bus, a tag index, the namespace generation
// and the key secret. Build one and give it to core.Config.L2:
//
//	rs, err := redisstore.NewFromURL("redis://127.0.0.1:6379/0", redisstore.Options{})
//	...
//	defer rs.Close()
//	cache, err := core.New(core.Config{L2: rs})
//
// [New] wraps any go-redis [redis.UniversalClient]: a single node, a
// Sentinel failover client, a Cluster or a Ring; [NewFromURL] builds
// and owns one. Keys are used as given: core builds them with a {hash tag}
// per URL, so a URL's keys share a Cluster slot and Delete removes them with
// one DEL. The store's own keys (tag sets, the pub/sub channel) live under
// [Options].Prefix.
//
// Every call is bounded by [Options].Timeout and guarded by a circuit
// breaker that tells a loaded machine from a failed Redis: it opens when, over
// a sliding BreakerWindow (10 s), at least BreakerFailures (20) calls failed
// and they are at least BreakerFailureRate (half) of the calls, so a few
// missed deadlines among answered calls leave it closed while an outage opens
// it at the 20th failure. Open, it makes calls return [store.ErrUnavailable]
// at once, without touching the network, for BreakerCooldown; then a single
// probe call decides whether it closes. A
// call whose caller's context ends (the HTTP client went away) returns
// ctx.Err() and does not count as a Redis failure; running out of the
// store's own Timeout does, and returns an error wrapping [store.ErrTimeout].
// Failures are counted ([Store.Stats]) and logged through log/slog at most
// once per second per kind of call.
//
// # Lock
//
// [Store.Lock] takes a fleet-wide lock with SET NX PX and a random token;
// [Store.Unlock] and [Store.Extend] act only while the token still holds the
// lock (Lua compare-and-delete, compare-and-pexpire), so a holder whose lock
// expired cannot release someone else's.
//
// # Invalidation bus
//
// [Store.Publish] sends a message on the channel; [Store.Subscribe] runs a
// goroutine that delivers messages to a handler and reconnects by itself
// after an outage, including a hung server (detected by PING), then calls
// the subscriber's reconnected function so that it can drop what it may
// have missed, such as its L1. Subscribe returns once the subscription is
// live (it waits for a hello of its own, for at most a second).
//
// # Tags
//
// [Store.TagAdd] indexes a key under tags, one set per tag at
// <Prefix>:tag:{<tag>}, whose expiry only ever grows to cover its longest
// lived member. [Store.TagPurge] reads and deletes the sets atomically and
// returns the keys to delete; no KEYS or SCAN is ever used.
//
// Each tag also has a stamp at <Prefix>:tagv:{<tag>}, in the set's slot: a
// random value that [Store.TagAddStamped] creates when the tag has none (and
// returns), TagPurge deletes, and [Store.TagStamps] reads (one MGET). core
// records the stamps in each entry it writes and checks them on every L2 read
// of a tagged entry (core.TagStamper), so a purge stays correct when Redis
// evicts a tag set: under allkeys-lru the sets, read only by purges, go
// first. An evicted stamp costs misses, never a stale entry.
//
// # Fleet values
//
// [Store.Generation] and [Store.NextGeneration] keep core's namespace
// generation at <Prefix>:gen; [Store.Secret] the key secret at
// <Prefix>:secret (SET NX: the first proposal wins).
package redisstore
