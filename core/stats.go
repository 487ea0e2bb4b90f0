package core

import "github.com/strata-cache/strata/store"

// Stats is a snapshot of the tiers' own counters and sizes. It is cheap enough to read on
// every metrics scrape, not on every request: the metrics package reads it at scrape time.
type Stats struct {
	// L1 holds the in-process tier's counters (entries, bytes, hits, misses, evictions, …).
	// Zero when the L1 is disabled (HasL1 false).
	L1    store.L1Stats
	HasL1 bool

	// L2 holds the Redis tier's counters (errors, timeouts, breaker state, …). Zero when the
	// cache has no L2 (HasL2 false); note that the zero breaker state reads "closed".
	L2    store.TierStats
	HasL2 bool
}

// Stats returns a snapshot of the L1 and L2 counters. It is safe for concurrent use.
func (c *Cache) Stats() Stats {
	var s Stats
	if c.l1 != nil {
		s.L1, s.HasL1 = c.l1.Stats(), true
	}
	if c.l2 != nil {
		s.L2, s.HasL2 = c.l2.Stats(), true
	}
	return s
}
