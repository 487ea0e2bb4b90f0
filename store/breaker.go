package store

import (
	"sync"
	"sync/atomic"
	"time"
)

// BreakerState is the state of the Redis circuit breaker.
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

// breaker counts consecutive failures. At threshold it opens: calls are
// refused for cooldown, then one probe goes through (half-open); its success
// closes the breaker, its failure opens it for another cooldown. The closed,
// successful path is two atomic loads.
type breaker struct {
	threshold int32 // <= 0: disabled
	cooldown  time.Duration
	clock     Clock

	state    atomic.Int32
	failures atomic.Int32
	openedAt atomic.Int64 // unix nanos; written before state becomes open
	opens    atomic.Uint64

	mu sync.Mutex // serialises state transitions
}

// allow reports whether a call may be sent, and whether it is the
// half-open probe (which must be reported back through success, failure or
// abandon).
func (b *breaker) allow() (ok, probe bool) {
	switch BreakerState(b.state.Load()) {
	case BreakerClosed:
		return true, false
	case BreakerHalfOpen:
		return false, false
	}
	now := b.clock().UnixNano()
	if now < b.openedAt.Load()+int64(b.cooldown) {
		return false, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if BreakerState(b.state.Load()) != BreakerOpen || now < b.openedAt.Load()+int64(b.cooldown) {
		return false, false
	}
	b.state.Store(int32(BreakerHalfOpen))
	return true, true
}

// success records a call that reached Redis and got an answer.
func (b *breaker) success(probe bool) {
	if probe {
		b.mu.Lock()
		b.failures.Store(0)
		b.state.Store(int32(BreakerClosed))
		b.mu.Unlock()
		return
	}
	if b.failures.Load() != 0 {
		b.failures.Store(0)
	}
}

// failure records a failed call and reports whether it opened the breaker.
func (b *breaker) failure(probe bool) (opened bool) {
	if probe {
		b.mu.Lock()
		b.openedAt.Store(b.clock().UnixNano())
		b.state.Store(int32(BreakerOpen))
		b.mu.Unlock()
		return false
	}
	if b.threshold <= 0 || b.failures.Add(1) < b.threshold {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if BreakerState(b.state.Load()) != BreakerClosed {
		return false
	}
	b.openedAt.Store(b.clock().UnixNano())
	b.state.Store(int32(BreakerOpen))
	b.opens.Add(1)
	return true
}

// abandon records a probe whose caller went away before Redis answered: it
// proves nothing, so the breaker goes back to open with its old cooldown
// (already over), and the next call probes.
func (b *breaker) abandon(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	if BreakerState(b.state.Load()) == BreakerHalfOpen {
		b.state.Store(int32(BreakerOpen))
	}
	b.mu.Unlock()
}

func (b *breaker) State() BreakerState { return BreakerState(b.state.Load()) }
