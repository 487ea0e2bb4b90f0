package appcache

import (
	"sync/atomic"
	"time"
)

// Level names where a hit came from.
type Level uint8

const (
	L1 Level = iota + 1 // this instance's memory
	L2                  // the shared tier
)

func (l Level) String() string {
	switch l {
	case L1:
		return "l1"
	case L2:
		return "l2"
	}
	return "unknown"
}

// Observer receives the cache's events, synchronously: its methods must be quick and safe for
// concurrent use. Embed NopObserver to implement only some of them.
type Observer interface {
	// Hit: a Fetch was answered from a tier (stale reports a stale-while-revalidate answer;
	// negative a cached absence).
	Hit(key string, level Level, stale, negative bool)
	// Miss: a Fetch found nothing usable in any tier and waits for a load.
	Miss(key string)
	// Load: a loader ran (background reports a refresh), for d, with its error (nil, an error
	// matching ErrNotFound, or a failure, which is not cached).
	Load(key string, d time.Duration, background bool, err error)
	// Error: a tier, the fleet or the codec failed; op names the call.
	Error(op string, err error)
	// Invalidate: n keys were invalidated, by kind: "key", "set", "tag", "remote".
	Invalidate(kind string, n int)
}

// NopObserver ignores every event.
type NopObserver struct{}

func (NopObserver) Hit(string, Level, bool, bool)           {}
func (NopObserver) Miss(string)                             {}
func (NopObserver) Load(string, time.Duration, bool, error) {}
func (NopObserver) Error(string, error)                     {}
func (NopObserver) Invalidate(string, int)                  {}

// Stats is a snapshot of the cache's counters.
type Stats struct {
	HitsL1, HitsL2 int64 // Fetch answered from a tier (stale and negative answers included)
	StaleHits      int64 // of which stale-while-revalidate answers
	NegativeHits   int64 // of which cached absences
	Misses         int64 // Fetch calls that waited for a load (theirs or another's)
	Loads          int64 // loader runs (foreground and background)
	LoadErrors     int64 // loader failures (ErrNotFound is not one)
	Refreshes      int64 // background refreshes started (XFetch or stale-while-revalidate)
	LockWaits      int64 // fills that waited for another instance's fill lock
	Takeovers      int64 // fills that took over a slow holder's after LockWait
	Refused        int64 // loaded values not stored because the key's version moved meanwhile
	Invalidations  int64 // keys invalidated here (Invalidate, Set, tags)
	Remote         int64 // keys invalidated by another instance's message
	Errors         int64 // tier, fleet and codec failures

	WriteBehind WriteBehindStats
}

type counters struct {
	hitsL1, hitsL2, stale, negative, misses, loads, loadErrors, refreshes, lockWaits,
	takeovers, refused, invalidations, remote, errors atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		HitsL1: c.hitsL1.Load(), HitsL2: c.hitsL2.Load(), StaleHits: c.stale.Load(),
		NegativeHits: c.negative.Load(), Misses: c.misses.Load(), Loads: c.loads.Load(),
		LoadErrors: c.loadErrors.Load(), Refreshes: c.refreshes.Load(), LockWaits: c.lockWaits.Load(),
		Takeovers: c.takeovers.Load(), Refused: c.refused.Load(), Invalidations: c.invalidations.Load(),
		Remote: c.remote.Load(), Errors: c.errors.Load(),
	}
}
