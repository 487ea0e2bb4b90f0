// Package appcache is a typed application cache (of values, not HTTP responses) over the same
// tiers as the HTTP cache: its own bounded in-process L1 (store.L1), an optional shared L2
// (core.Tier, for example a *redisstore.Store) and a fleet (core.Fleet) for the fill lock, the
// invalidation bus and the tag index.
//
// # Patterns
//
//   - Cache-aside / read-through: Fetch(ctx, key, loader) answers from the L1, the L2 (copying
//     into the L1) or runs loader once per key across the fleet: concurrent calls in one
//     process share one load (coalescing), and instances take the key's fill lock
//     (Fleet.Lock, extended while the loader runs); the others poll the L2 with backoff and,
//     after Options.LockWait, one of them at a time takes over. TTLs are jittered; hits
//     refresh a value early in the background with XFetch's probability (the load time is
//     measured and stored with the value; Options.Beta); Options.StaleWhileRevalidate answers
//     stale values while a background refresh runs. A loader returning ErrNotFound caches the
//     absence for Options.NegativeTTL. FetchMany(ctx, keys, batchLoader) is the batch form:
//     one loader call for the keys no tier holds, each key coalesced, locked and fenced as
//     Fetch's; keys the loader leaves out are cached as absent.
//   - Write-through: Set(ctx, key, v, write) runs write (the source of truth), then stores v
//     and invalidates the other instances' L1.
//   - Write-behind: SetBehind queues the write (bounded, coalesced per key, flushed in
//     batches with retries; Block or Drop when full; flushed by Close) and updates the cache.
//   - Invalidation: Invalidate(keys), InvalidateTags(tags) (the tag index is the fleet's, shared
//     with core.Cache: one call purges values and HTTP responses), fleet-wide over the bus.
//
// # Keys and values
//
// A value of key lives under "<Namespace>:<Version>:{<key>}": a Cache of a changed T, given a
// new Options.Version, never reads the old bytes. Each stored value carries a header (the
// schema version, its freshness, the load time, a negative flag) and an xxh3 checksum;
// anything that fails verification is a miss.
//
// # No stale value after a write
//
// The cache-aside race: a reader misses and loads the old row; a writer updates the row and
// invalidates the key; the reader then stores the old row, which stays until its TTL. Here
// every key has a version, in two places:
//
//   - in-process, a bounded table of counters indexed by a hash of the key. Invalidate, Set,
//     tag purges and bus messages from other instances increment the key's counter and
//     delete it from the L1 under the counter's lock; a fill reads the counter before it reads
//     the L2 or runs the loader, and stores into the L1 under that lock only if the counter
//     has not moved.
//   - in the L2, when it implements VersionedTier (redisstore does, with Lua scripts): a
//     counter under "<Namespace>:ver:{<key>}". Invalidate increments it and deletes the value
//     in one script; a fill reads it before running the loader and stores with SetIfVersion,
//     which compares and sets in one script. A store is therefore either before the
//     invalidation (and deleted by it) or after it (and refused). The L1 store follows only a
//     successful L2 store.
//
// Guarantee, with a VersionedTier L2: a value loaded by a loader that started before an
// Invalidate, Set or InvalidateTags of its key returned is never left in the L2, nor in the L1
// of the instance that invalidated. Other instances' L1 drop it when the bus message arrives;
// if it is lost, within Options.MaxStaleness (the bound on every L1 lifetime in a fleet).
// Version counters live Options.VersionTTL after their last change: loads longer than that are
// not covered. Two concurrent Set calls of one key leave the key empty rather than risk the
// older value.
//
// With an L2 without VersionedTier, a fill stores with a plain Set and then deletes the value
// again if the key's local version moved meanwhile: this covers invalidations made by this
// instance, and those of other instances whose bus message arrived before the check; a
// message that arrives later leaves the stale value in the L2 until its TTL. Use redisstore
// (or implement VersionedTier) when that matters.
//
// # Background work
//
// Refreshes (XFetch, stale-while-revalidate) run on goroutines the cache owns, one per key at
// a time, bounded by Options.LoadTimeout and cancelled by Close, which waits for them.
package appcache
