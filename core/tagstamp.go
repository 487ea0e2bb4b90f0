package core

import (
	"context"
	"time"
)

// Tag stamps keep purges by tag correct when the fleet loses its tag sets (Redis evicts them
// under allkeys-lru before the entries they name, which are read far more often; a restart
// without persistence loses them). A purge by tag finds the keys to delete in the tag sets;
// with a set gone it finds none, and the L2 entries it named would be served until their TTL.
//
// With a fleet that is a TagStamper (store/redisstore), every tag also has a stamp, a random
// value that TagPurge deletes and the next TagAddStamped creates anew. An entry written to L2
// records the stamps its tags had (in its encoding, under the checksum and the MAC), and an
// L2 read of a tagged entry fetches the current stamps (one round trip, MGET): a stamp that
// changed or is missing makes the entry a miss, and it is deleted. Losing a stamp, or a set,
// then costs misses, never a stale answer. An untagged entry costs nothing more.
//
// The L1 copies need no stamps: each instance indexes the tagged entries of its L1 in its own
// tag index (tagindex.go, which follows the L1), and a purge by tag, here or through the bus,
// deletes what that index names. The tag fence (fence.go) covers a promotion from L2 that
// read the old stamps just before the purge changed them.
//
// Stamps were chosen over a per-tag counter, which restarts at its first value after an
// eviction and then matches entries written before it, and over a fleet-wide generation of
// all tags, which makes every tagged entry a miss at every purge of any tag.

// stampedCopy returns the copy of a built entry to write to L2: with a stamping fleet, the
// entry with the stamps its tags have now, which TagAddStamped also indexes; ok is false when
// the fleet could not be reached (the entry then stays out of L2, as it could not be checked).
// indexed reports whether the tags were indexed already.
func (c *Cache) stampedCopy(ctx context.Context, f Fleet, b *built) (raw []byte, indexed, ok bool) {
	st, stamping := f.(TagStamper)
	if len(b.tags) == 0 || !stamping || f == Fleet(c.local) {
		return b.raw, false, true
	}
	// The set outlives its entries a little, so a purge finds it (when Redis keeps it).
	stamps, err := st.TagAddStamped(ctx, b.tags, b.key, b.ttl+time.Minute)
	if err == nil && len(stamps) != len(b.tags) {
		err = errStamps
	}
	if err != nil {
		c.storeErr(TierL2, OpTag, err)
		return nil, true, false
	}
	e := b.e
	e.stamps = stamps
	return e.encode(make([]byte, 0, e.size())), true, true
}

// tagsCurrent reports whether the tags of an entry read from L2 still have the stamps it
// recorded. An entry without tags, or a fleet without stamps, needs no call. An error of the
// fleet makes the entry a miss (it cannot be checked) without deleting it.
func (c *Cache) tagsCurrent(ctx context.Context, e *entry) (current, checked bool) {
	if len(e.tags) == 0 {
		return true, true
	}
	_, f := c.shared()
	st, ok := f.(TagStamper)
	if !ok || f == Fleet(c.local) {
		return true, true
	}
	now, err := st.TagStamps(context.WithoutCancel(ctx), e.tags)
	if err == nil && len(now) != len(e.tags) {
		err = errStamps
	}
	if err != nil {
		c.storeErr(TierL2, OpTag, err)
		return false, false
	}
	for i, s := range now {
		if s == "" || s != e.stamp(i) {
			return false, true
		}
	}
	return true, true
}
