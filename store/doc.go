// Package store holds what every Strata tier shares: the errors tiers return
// ([ErrNotFound], [ErrTooLarge], [ErrUnavailable], [ErrTimeout]), their
// counters ([TierStats]) and the in-process L1 over bigcache. It needs only
// the standard library and bigcache.
//
// The tier interfaces are core's (core.Tier, core.Fleet). The shared tiers
// live in packages of their own, so an application links only the one it
// uses: store/redisstore (Redis: the L2 and the fleet) and store/memcached
// (a nested module: an L2). Every tier passes the conformance suite in
// store/storetest.
//
// # L1
//
// [NewL1] creates a byte-bounded bigcache. bigcache has one life window for
// the whole cache, so each entry carries its own expiry, 8 bytes in front of
// the value, checked on Get (an expired entry is deleted and reported as a
// miss). Time comes from [L1Config].Clock, so expiry is testable without
// sleeping. An entry larger than what bigcache can always place in a shard
// is refused with ErrTooLarge instead of letting bigcache empty the shard.
package store
