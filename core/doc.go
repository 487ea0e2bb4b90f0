// Package core is Strata's engine: an RFC 9111 shared HTTP cache in front of net/http
// handlers, over an in-process L1 (bigcache) and an optional shared L2 (a Tier: Redis through
// store/redisstore, memcached through store/memcached, or your own), coordinated across
// instances by a Fleet (redisstore is one; without one, an in-process fleet of one).
//
// # Setup
//
//	l2, err := redisstore.NewFromURL("redis://127.0.0.1:6379/0", redisstore.Options{})
//	if err != nil { ... }
//	defer l2.Close()
//	cache, err := core.New(core.Config{L2: l2})
//	if err != nil { ... }
//	defer cache.Close()
//	http.ListenAndServe(addr, cache.Middleware(mux))
//
// The zero Config is a working L1-only cache with safe defaults; every field documents its
// default. Framework adapters (adapters/chi, adapters/gin, adapters/echo) are thin layers over
// Handler and PolicyMiddleware.
//
// # The request path
//
// GET and HEAD are looked up (HEAD is served from the GET entry); other methods pass through,
// and a 2xx/3xx answer to an unsafe one invalidates the target URI (RFC 9111 §4.4). The key
// is the host, path and sorted query; a stored Vary record selects the variant by the request
// fields it names (§4.1). A fresh entry is served with Age and Cache-Status (RFC 9211; an
// upstream's members first, this cache's last), and a matching conditional request gets a 304
// from the cache (RFC 9110 §13.2.2); so does one for a 200 the cache does not store, which gets
// an ETag of its body unless Config.DisableETagUncached. A stale entry is served at once
// within stale-while-revalidate and refreshed after the answer (RFC 5861 §3; on a goroutine
// of the cache when an outer middleware cannot flush the answer and the adapter allows it,
// see HandlerOptions.Detach), or revalidated with the stored validators (§4.3); a failing
// origin within stale-if-error
// gets the stale entry served (RFC 5861 §4).
//
// A miss runs the handler once per key: concurrent requests wait for the leader in this
// process and, with Redis, for the instance holding a fleet-wide lock; a leader that panics
// or whose client leaves hands over to a waiter. The response is buffered up to MaxBodyBytes
// and stored when RFC 9111 §3 allows it and it has explicit freshness (or a negative-caching
// rule); anything larger, flushed or hijacked streams through unstored.
//
// # Failure
//
// The cache never turns a working origin answer into an error. A failing L2 or fleet call is
// a miss or a lone fill (redisstore bounds every Redis call and stops calling a failing Redis
// through a circuit breaker); the cache then runs on L1 and the origin. An answer whose lookup
// skipped the L2 because its breaker is open (the tier refused the read with
// store.ErrUnavailable) carries "detail=l2-open" in its Cache-Status, unless a reason not to
// store it takes the detail. A client that goes away is not a tier failure and does not run
// the origin.
//
// # Invalidation
//
// Purge removes a URL (all its variants), PurgeTags removes entries by surrogate key through
// an index (no key scans), PurgeAll moves to a new namespace generation. With a shared fleet,
// every purge reaches every instance's L1 over its bus, and a Purger passes it on to a CDN.
// With a fleet that is a TagStamper (store/redisstore), a purge by tag stays correct when the
// fleet loses a tag's index (Redis evicts it): entries in L2 record their tags' stamps, which
// the purge changes and every L2 read of a tagged entry checks.
package core
