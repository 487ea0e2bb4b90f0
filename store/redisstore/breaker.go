package redisstore

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-cache/strata/store"
)

// breakerBuckets is how many buckets the breaker's window is cut into: the window slides by
// a tenth of its length.
const breakerBuckets = 10

// breaker opens on a failure rate, not on a run of failures: it counts the calls that
// reached Redis and those that failed over a sliding window (breakerBuckets buckets), and
// opens when, within the window, at least minFailures calls failed and they are at least
// rate of all calls. A loaded machine that misses a few deadlines among many answered calls
// stays closed; a Redis that answers nothing opens it at the minFailures-th failure.
//
// While open, calls are refused for cooldown; then one probe goes through (half-open): its
// success closes the breaker with an empty window, its failure opens it for another
// cooldown. The state is read with one atomic load; outcomes are counted under a mutex, next
// to a network round trip.
type breaker struct {
	minFailures int64 // <= 0: disabled (nothing is counted, the breaker never opens)
	rate        float64
	width       int64 // bucket width in nanoseconds: the window / breakerBuckets
	cooldown    time.Duration
	clock       store.Clock

	state    atomic.Int32
	openedAt atomic.Int64 // unix nanos; written before state becomes open
	opens    atomic.Uint64

	mu      sync.Mutex // serialises state transitions and guards the window
	last    int64      // the newest bucket index counted into
	buckets [breakerBuckets]bucket
}

// bucket counts the outcomes of one slice of the window.
type bucket struct {
	index       int64 // time / width of the slice it counts; stale when older than the window
	calls, fail int64
}

// newBreaker returns a breaker; minFailures <= 0 disables it. window must be positive and
// rate in (0, 1].
func newBreaker(minFailures int, rate float64, window, cooldown time.Duration, clock store.Clock) *breaker {
	b := &breaker{rate: rate, width: max(int64(window)/breakerBuckets, 1), cooldown: cooldown, clock: clock}
	if minFailures > 0 {
		b.minFailures = int64(minFailures)
	}
	return b
}

func (b *breaker) enabled() bool { return b.minFailures > 0 }

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
		b.reset()
		b.state.Store(int32(store.BreakerClosed))
		b.mu.Unlock()
		return
	}
	if !b.enabled() {
		return
	}
	now := b.clock().UnixNano()
	b.mu.Lock()
	b.record(now, false)
	b.mu.Unlock()
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
	if !b.enabled() {
		return false
	}
	now := b.clock().UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record(now, true)
	if store.BreakerState(b.state.Load()) != store.BreakerClosed {
		return false // a call sent before the breaker opened
	}
	calls, fail := b.window()
	if fail < b.minFailures || float64(fail) < b.rate*float64(calls) {
		return false
	}
	b.openedAt.Store(now)
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

// record counts one outcome at now (unix nanos). A clock that went back counts into the
// newest bucket. b.mu is held.
func (b *breaker) record(now int64, failed bool) {
	i := max(now/b.width, b.last)
	b.last = i
	k := &b.buckets[i%breakerBuckets]
	if k.index != i {
		*k = bucket{index: i}
	}
	k.calls++
	if failed {
		k.fail++
	}
}

// window returns the calls and failures counted in the window that ends with the newest
// bucket. b.mu is held.
func (b *breaker) window() (calls, fail int64) {
	for _, k := range b.buckets {
		if k.index > b.last-breakerBuckets && k.index <= b.last {
			calls += k.calls
			fail += k.fail
		}
	}
	return calls, fail
}

// reset empties the window. b.mu is held.
func (b *breaker) reset() {
	b.buckets = [breakerBuckets]bucket{}
	b.last = 0
}

// counts returns the calls and failures in the window ending now, for logs and tests.
func (b *breaker) counts() (calls, fail int64) {
	now := b.clock().UnixNano()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = max(now/b.width, b.last)
	return b.window()
}

func (b *breaker) State() store.BreakerState { return store.BreakerState(b.state.Load()) }
