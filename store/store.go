package store

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned by Get on a miss, including an expired entry.
var ErrNotFound = errors.New("store: not found")

// ErrUnusable is returned by Redis.Get for a value RedisOptions.Usable rejects: a miss (it
// matches ErrNotFound) whose value the caller may want to delete.
var ErrUnusable = fmt.Errorf("%w (unusable value)", ErrNotFound)

// ErrTooLarge is returned by Set when an entry does not fit the store.
var ErrTooLarge = errors.New("store: entry too large")

// ErrUnavailable is returned by Redis calls while the circuit breaker is
// open: the call was not sent.
var ErrUnavailable = errors.New("store: redis unavailable (circuit breaker open)")

// ErrTimeout is wrapped by the error of a Redis call that ran out of the
// store's own per-call timeout (RedisOptions.Timeout). It deliberately does
// not match context.DeadlineExceeded: that is what a call returns when the
// caller's context ended.
var ErrTimeout = errors.New("store: redis call timed out")

// Clock returns the current time. Stores take one so that expiry can be
// tested without sleeping; nil means time.Now.
type Clock func() time.Time

// OrNow returns c, or time.Now when c is nil.
func (c Clock) OrNow() Clock {
	if c == nil {
		return time.Now
	}
	return c
}
