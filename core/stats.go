package core

import "github.com/strata-cache/strata/store"

// Stats is a snapshot of the tiers' own counters and sizes. It is cheap enough to read on
// every metrics scrape, not on every request: the metrics package reads it at scrape time.
type Stats struct {
	// L1 holds the in-process tier's counters (entries, bytes, hits, misses, evictions, …).
	// Zero when the L1 is disabled (HasL1 false).
	L1    store.L1Stats
	HasL1 bool

	// L2 holds the shared tier's counters (errors, timeouts, breaker state, …), when it
	// counts them (it implements TierStats, as store/redisstore does). Zero otherwise (HasL2
	// false); note that the zero breaker state reads "closed".
	L2    store.TierStats
	HasL2 bool
}

// Stats returns a snapshot of the L1 and L2 counters. It is safe for concurrent use.
func (c *Cache) Stats() Stats {
	var s Stats
	s.L1, s.HasL1 = c.l1.Stats(), !c.cfg.DisableL1
	if ts, ok := c.l2.(TierStats); ok {
		s.L2, s.HasL2 = ts.Stats(), true
		// A value that is no record of this cache (garbage, another format, cut) was a hit
		// to the tier and is a miss to the cache: counted as one, so Hits counts usable reads.
		u := min(c.unusable.Load(), s.L2.Hits)
		s.L2.Hits -= u
		s.L2.Misses += u
		s.L2.Unusable += u
		// So is an entry whose tags were purged since it was written (tagstamp.go).
		o := min(c.outdated.Load(), s.L2.Hits)
		s.L2.Hits -= o
		s.L2.Misses += o
	}
	return s
}
