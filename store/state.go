package store

// BreakerState is the state of the circuit breaker of a tier (store/redisstore has one).
type BreakerState int32

const (
	// BreakerClosed lets calls through (healthy).
	BreakerClosed BreakerState = iota
	// BreakerOpen refuses calls with ErrUnavailable until the cooldown ends.
	BreakerOpen
	// BreakerHalfOpen lets one probe call through; the others are refused.
	BreakerHalfOpen
)

func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return "unknown"
}

// TierStats is a snapshot of a tier's counters (store/redisstore fills every field; other
// tiers what they count).
type TierStats struct {
	Gets         uint64       // Get calls
	Hits         uint64       // Get calls that returned a value (a usable one, with Options.Usable)
	Misses       uint64       // Get calls that returned ErrNotFound (Unusable included)
	Unusable     uint64       // values Get read and Options.Usable rejected
	Errors       uint64       // failed calls, timeouts included; not Rejected or Canceled ones
	Timeouts     uint64       // calls that ran out of Timeout (also in Errors)
	Rejected     uint64       // calls refused with ErrUnavailable by the open breaker
	Canceled     uint64       // calls abandoned because the caller's context ended
	BreakerOpens uint64       // times the breaker went from closed to open
	Breaker      BreakerState // current breaker state
}
