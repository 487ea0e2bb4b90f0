// Package memcached is a shared L2 tier for Strata over memcached: a [core.Tier] (Get, Set
// with a TTL, Delete of many keys) built on github.com/bradfitz/gomemcache. It lives in a
// module of its own (github.com/strata-cache/strata/store/memcached), so applications that
// do not use memcached do not depend on its client.
//
//	s, err := memcached.NewFromServers([]string{"10.0.0.5:11211", "10.0.0.6:11211"}, memcached.Options{})
//	if err != nil { … }
//	defer s.Close()
//	c, err := core.New(core.Config{L2: s, KeySecret: secret})
//
// [NewFromServers] builds and owns a client (keys spread over the servers by CRC32, resolved
// once); [New] wraps a *memcache.Client the application configured itself.
//
// # Calls
//
// Every call is bounded by [Options].Timeout (default 50ms): one that runs out of it returns
// an error wrapping [ErrTimeout] and counts as a failure. A call whose context ends first
// returns ctx.Err() and counts as Canceled, not as a failure. gomemcache takes no context,
// so each call runs the client's operation on a goroutine; an abandoned operation goes on
// until the client's socket timeout, which NewFromServers sets to Options.Timeout. A Delete
// of many keys deletes them 8 at a time (memcached has no multi-key delete), with Timeout for
// each group of 8; a missing key is not an error. [Store.Stats] counts gets, hits, misses,
// errors, timeouts and canceled calls; there is no circuit breaker, so its breaker fields stay
// zero. A stopped or unreachable server makes calls fail with errors (the cache then answers
// from its L1 or the origin); it never makes them hang past Timeout.
//
// # Keys
//
// memcached keys are at most 250 bytes, without spaces or control characters. A key that
// qualifies (with [Options].Prefix in front of it) is used as it is, so it can be inspected
// with memcached's own tools. Any other key (too long, with a space, a control character or
// DEL, empty, or starting with "#") is replaced by Prefix + "#" + the unpadded base64url
// SHA-256 of the key. Two keys with the same hash would share one item; Strata stores the
// whole key inside every value and verifies it on read, so such a collision could only turn
// a hit into a miss, never serve one URL's answer for another (and none is known for
// SHA-256).
//
// # Expiry
//
// memcached counts expiry in whole seconds, reads a number over 30 days as an absolute unix
// time, and 0 as "never". Set therefore rounds a TTL up to whole seconds (a sub-second TTL
// becomes 1 s, never 0), sends a TTL over 30 days as the unix time now+TTL (capped at
// January 2038, the protocol's last second), and sends 0 for ttl <= 0. Because memcached's
// clock ticks once a second, and would keep a 50ms entry for up to a second, every value also
// carries its own deadline in milliseconds, 8 bytes in front of it (the item's flags mark the
// format): Get reports an entry past its deadline as a miss, so entries expire on time to the
// millisecond (by the clocks of the instances, which should agree), and memcached reclaims
// the memory within the next second. Items another program wrote (other flags) read as
// misses.
//
// # Sizes
//
// memcached refuses an item over its size limit (-I, default 1 MiB), which counts the key,
// the value and its own bookkeeping. Set refuses such a value with store.ErrTooLarge before
// sending it, from [Options].MaxItemBytes (default 1 MiB: raise it with the server's -I),
// and deletes the older value under the key, so no stale entry stays behind; a value the
// server refuses anyway gets the same treatment. Keep core's Config.MaxEntryBytes under the
// limit, or large responses are served but stored only in the L1.
//
// # What memcached does not do
//
// memcached is a Tier only. The features a fleet of instances shares are a [core.Fleet]:
// the fill lock (one instance fills a key while the others wait), purges by tag, the
// invalidation bus (a purge on one instance reaches the L1 of every other), the namespace
// generation (PurgeAll) and the shared key secret. memcached offers none of them, so they
// come from Redis, through store/redisstore as Config.Fleet, or stay in-process. The
// supported combinations:
//
//   - memcached L2 and the in-process fleet, one instance: everything works as with Redis,
//     the lock, tags and generation being those of the one process.
//   - memcached L2 and the in-process fleet, several instances: they share stored entries,
//     but each fills on its own (no fleet-wide lock), and a purge (by URL, tag or PurgeAll)
//     removes what this instance knows: its own L1, and the L2 entries of the URLs it
//     purges, but not other instances' L1 copies, nor L2 entries recorded under a tag by
//     another instance. Use it where such per-instance purges are acceptable (short TTLs,
//     purges sent to every instance). All instances must share Config.KeySecret, which the
//     in-process fleet cannot agree on by itself: with a random secret per process, their
//     keys differ and they never share an entry.
//   - memcached L2 and a Redis fleet (Config.Fleet from store/redisstore): memcached holds the
//     entries, Redis the lock, tags, bus, generation and secret: the full fleet behaviour,
//     with the bulk of the bytes in memcached.
//
// Tier errors never fail a request: the cache counts them, answers from another tier or the
// origin, and stores where it can.
package memcached
