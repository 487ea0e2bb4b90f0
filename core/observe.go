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
	Reason   string        // why not stored / why bypassed ("" when stored or hit)
	Stored   bool          // the response was stored
	Status   int           // status sent to the client (0 when the handler hijacked the connection)
	Duration time.Duration // time in the cache middleware, handler included
	Origin   time.Duration // time in the handler (0 on a hit)
	Tier     string        // "l1", "l2" or "" for a hit's source
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
	Store(route, reason string, ok bool)
	// Error reports an L1/L2 error by tier ("l1", "l2") and operation ("get", "set", …).
	Error(tier, op string)
	// Purge reports a purge by kind ("url", "tag", "all") and the number of keys removed.
	Purge(kind string, n int)
	// Waiter reports a request that waited for another's fill, and for how long.
	Waiter(d time.Duration, served bool)
}

// Purger is told of every purge, so a CDN (L3) can be purged as well. Calls run after the
// cache's own purge; an error is logged and returned by the Purge call.
type Purger interface {
	PurgeURLs(ctx context.Context, urls []string) error
	PurgeTags(ctx context.Context, tags []string) error
	PurgeAll(ctx context.Context) error
}
