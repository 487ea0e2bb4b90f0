package core

import (
	"context"
	"time"
)

// Result is how the cache answered a request.
type Result uint8

const (
	ResultBypass      Result = iota // not looked up (method, Authorization, Range, …)
	ResultHit                       // fresh entry served
	ResultStale                     // stale entry served (stale-while-revalidate or stale-if-error)
	ResultMiss                      // forwarded to the handler
	ResultRevalidated               // stale entry revalidated by a 304 from the handler
	ResultNegativeHit               // negatively cached error answer served
	ResultNotModified               // 304 served from a stored entry
	ResultCollapsed                 // answered from another request's fill
)

var resultNames = [...]string{"bypass", "hit", "stale", "miss", "revalidated", "negative_hit", "not_modified", "collapsed"}

func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "unknown"
}

// Event describes one request that passed through the cache, for an Observer.
type Event struct {
	Route    string        // route pattern when the adapter knows it, else ""
	Result   Result        // how it was answered
	Reason   Reason        // why not stored / why bypassed ("" when stored or hit)
	Stored   bool          // the response was stored
	Status   int           // status sent to the client (0 when the handler hijacked the connection)
	Duration time.Duration // time in the cache middleware, handler included
	Origin   time.Duration // time in the handler (0 on a hit)
	Tier     TierName      // the tier a stored answer came from (TierL1, TierL2), or ""
	// Context is the request's context (for a background refresh, the refresh's own): an
	// Observer that traces reads the request's span from it. Never nil.
	Context context.Context
	// KeyHash is the request's keyed key hash, for correlating a trace with the store
	// (observers print it in hex); 0 when the request was not looked up.
	KeyHash uint64
}

// Observer receives cache events; it must be safe for concurrent use and fast (it runs on the
// request path). The metrics package implements it for Prometheus.
type Observer interface {
	Request(Event)
	// Store reports a store attempt: ok, or the reason it was rejected.
	Store(route string, reason Reason, ok bool)
	// Error reports a failed call of a tier (TierL2 stands for the fleet too) by operation.
	Error(tier TierName, op Op)
	// Purge reports a purge by kind and the number of keys removed.
	Purge(kind PurgeKind, n int)
	// Waiter reports a request that waited for another's fill, and for how long.
	Waiter(d time.Duration, served bool)
}

// TierName names a tier in events: where a hit came from, or which tier failed.
type TierName string

// The tiers.
const (
	TierL1 TierName = "l1" // the in-process tier
	TierL2 TierName = "l2" // the shared tier (and, for errors, the fleet)
)

// Op names a failed tier or fleet call (Observer.Error).
type Op string

// The operations of the tiers and the fleet that can fail.
const (
	OpGet        Op = "get"
	OpSet        Op = "set"
	OpDelete     Op = "delete"
	OpTag        Op = "tag"     // TagAdd, TagPurge
	OpPublish    Op = "publish" // the invalidation bus
	OpGeneration Op = "gen"     // Generation, NextGeneration
	OpVerify     Op = "verify"  // an L2 value failed the entry MAC (Config.EntryMACKey): forged or moved
)

// PurgeKind names a purge (Observer.Purge).
type PurgeKind string

// The purges.
const (
	PurgeKindURL PurgeKind = "url" // Purge, and unsafe-method invalidation
	PurgeKindTag PurgeKind = "tag" // PurgeTags
	PurgeKindAll PurgeKind = "all" // PurgeAll
)

// Purger is told of every purge, so a CDN (L3) can be purged as well. Calls run after the
// cache's own purge; an error is logged and returned by the Purge call.
type Purger interface {
	PurgeURLs(ctx context.Context, urls []string) error
	PurgeTags(ctx context.Context, tags []string) error
	PurgeAll(ctx context.Context) error
}
