package redisstore

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-cache/strata/store"
)

// breaker counts consecutive failures. At threshold it opens: calls are
// refused for cooldown, then one probe goes through (half-open); its success
// closes the breaker, its failure opens it for another cooldown. The closed,
// successful path is two atomic loads.
type breaker struct {
	threshold int32 // <= 0: disabled
	cooldown  time.Duration
	clock     store.Clock

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
	switch store.BreakerState(b.state.Load()) {
	case store.BreakerClosed:
		return true, false
	case store.BreakerHalfOpen:
		return false, false
	}
	now := b.clock().UnixNano()
	if now < b.openedAt.Load()+int64(b.cooldown) {
		return false, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if store.BreakerState(b.state.Load()) != store.BreakerOpen || now < b.openedAt.Load()+int64(b.cooldown) {
		return false, false
	}
	b.state.Store(int32(store.BreakerHalfOpen))
	return true, true
}

// success records a call that reached Redis and got an answer.
func (b *breaker) success(probe bool) {
	if probe {
		b.mu.Lock()
		b.failures.Store(0)
		b.state.Store(int32(store.BreakerClosed))
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
		b.state.Store(int32(store.BreakerOpen))
		b.mu.Unlock()
		return false
	}
	if b.threshold <= 0 || b.failures.Add(1) < b.threshold {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if store.BreakerState(b.state.Load()) != store.BreakerClosed {
		return false
	}
	b.openedAt.Store(b.clock().UnixNano())
	b.state.Store(int32(store.BreakerOpen))
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
	if store.BreakerState(b.state.Load()) == store.BreakerHalfOpen {
		b.state.Store(int32(store.BreakerOpen))
	}
	b.mu.Unlock()
}

func (b *breaker) State() store.BreakerState { return store.BreakerState(b.state.Load()) }
