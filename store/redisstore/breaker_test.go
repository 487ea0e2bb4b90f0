package redisstore

import (
	"sync"
	"testing"
	"time"

	"github.com/strata-cache/strata/store"
)

func TestBreaker(t *testing.T) {
	now := time.Unix(0, 0)
	b := &breaker{threshold: 3, cooldown: time.Second, clock: func() time.Time { return now }}
	want := func(state store.BreakerState, allowed, probe bool) {
		t.Helper()
		ok, p := b.allow()
		if ok != allowed || p != probe || b.State() != state {
			t.Fatalf("allow() = %v, %v in state %v; want %v, %v in %v", ok, p, b.State(), allowed, probe, state)
		}
	}

	// Failures must be consecutive.
	b.failure(false)
	b.failure(false)
	b.success(false)
	b.failure(false)
	b.failure(false)
	want(store.BreakerClosed, true, false)
	if !b.failure(false) {
		t.Fatal("third consecutive failure did not open the breaker")
	}
	want(store.BreakerOpen, false, false)
	now = now.Add(time.Second - 1)
	want(store.BreakerOpen, false, false)

	// After the cooldown exactly one probe goes through.
	now = now.Add(1)
	want(store.BreakerHalfOpen, true, true)
	want(store.BreakerHalfOpen, false, false)
	b.failure(true) // probe failed: open for another cooldown
	want(store.BreakerOpen, false, false)
	now = now.Add(time.Second)
	want(store.BreakerHalfOpen, true, true)
	b.abandon(true) // the probe's caller went away: next call probes
	want(store.BreakerHalfOpen, true, true)
	b.success(true)
	want(store.BreakerClosed, true, false)
	if b.opens.Load() != 1 {
		t.Fatalf("opens = %d, want 1 (reopening after a failed probe is not a new opening)", b.opens.Load())
	}
	// Closing reset the count.
	b.failure(false)
	b.failure(false)
	want(store.BreakerClosed, true, false)
}

func TestBreakerDisabled(t *testing.T) {
	b := &breaker{threshold: 0, cooldown: time.Second, clock: time.Now}
	for range 100 {
		if b.failure(false) {
			t.Fatal("disabled breaker opened")
		}
	}
	if ok, _ := b.allow(); !ok {
		t.Fatal("disabled breaker refused a call")
	}
}

func TestBreakerConcurrentProbe(t *testing.T) {
	now := time.Unix(0, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	b := &breaker{threshold: 1, cooldown: time.Second, clock: clock}
	b.failure(false)
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	var probes sync.WaitGroup
	var n sync.Mutex
	count := 0
	for range 50 {
		probes.Add(1)
		go func() {
			defer probes.Done()
			if ok, probe := b.allow(); ok && probe {
				n.Lock()
				count++
				n.Unlock()
			}
		}()
	}
	probes.Wait()
	if count != 1 {
		t.Fatalf("%d probes let through concurrently, want 1", count)
	}
}
