package redisstore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/store"
)

// testClock is a settable clock for the breaker's unit tests.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestBreaker(minFailures int) (*breaker, *testClock) {
	clk := &testClock{now: time.Unix(1_700_000_000, 0)}
	return newBreaker(minFailures, 0.5, 10*time.Second, time.Second, clk.Now), clk
}

func wantState(t *testing.T, b *breaker, state store.BreakerState, allowed, probe bool) {
	t.Helper()
	ok, p := b.allow()
	if ok != allowed || p != probe || b.State() != state {
		t.Fatalf("allow() = %v, %v in state %v; want %v, %v in %v", ok, p, b.State(), allowed, probe, state)
	}
}

// TestBreakerSporadicTimeouts: a healthy Redis on a loaded machine answers nearly every call
// and misses a deadline now and then, in short runs. The old breaker opened at 5 failures in
// a row; this one never opens.
func TestBreakerSporadicTimeouts(t *testing.T) {
	b, clk := newTestBreaker(20)
	for i := range 1000 {
		clk.Advance(10 * time.Millisecond) // 100 calls a second
		if i%200 == 100 {
			for range 5 { // five timeouts in a row, five times over
				if b.failure(false) {
					t.Fatalf("opened at call %d: 5 timeouts in a row among successes", i)
				}
			}
		}
		if ok, _ := b.allow(); !ok {
			t.Fatalf("call %d refused", i)
		}
		b.success(false)
	}
	// A burst of 19 (one short of the minimum volume) on an otherwise idle instance: the
	// failure rate is 100%, but there are too few calls to judge.
	clk.Advance(time.Minute)
	for range 19 {
		if b.failure(false) {
			t.Fatal("19 failures opened a breaker whose minimum volume is 20")
		}
	}
	// The window slides: 19 more, 11 s later, do not add up with the first 19.
	clk.Advance(11 * time.Second)
	for range 19 {
		if b.failure(false) {
			t.Fatal("failures more than a window apart added up")
		}
	}
	if b.State() != store.BreakerClosed || b.opens.Load() != 0 {
		t.Fatalf("state %v, %d openings; want closed, none", b.State(), b.opens.Load())
	}
}

// TestBreakerOutage: with every call failing the breaker opens at the minimum volume.
func TestBreakerOutage(t *testing.T) {
	b, clk := newTestBreaker(20)
	for i := 1; i <= 20; i++ {
		clk.Advance(time.Millisecond)
		opened := b.failure(false)
		if opened != (i == 20) {
			t.Fatalf("failure %d: opened = %v; want it to open at the 20th", i, opened)
		}
	}
	wantState(t, b, store.BreakerOpen, false, false)
	if calls, fail := b.counts(); calls != 20 || fail != 20 {
		t.Fatalf("window holds %d calls, %d failed; want 20, 20", calls, fail)
	}
}

// TestBreakerOutageAfterTraffic: after busy healthy traffic an outage opens the breaker once
// failures reach half the calls in the window, within half the window at a steady rate.
func TestBreakerOutageAfterTraffic(t *testing.T) {
	b, clk := newTestBreaker(20)
	for range 1000 { // 10 s at 100 calls a second
		clk.Advance(10 * time.Millisecond)
		b.success(false)
	}
	var n int
	for n = 1; n <= 1000; n++ {
		clk.Advance(10 * time.Millisecond)
		if b.failure(false) {
			break
		}
	}
	// The window holds 10 s: after t seconds of outage, 100t failures against 100(10-t)
	// (bucket-rounded) successes.
	if n > 1000 || n < 400 || n > 600 {
		t.Fatalf("opened after %d failures at 100 calls a second; want 400-600 (about 5 s)", n)
	}
	if calls, fail := b.counts(); 2*fail < calls {
		t.Fatalf("opened with %d of %d calls failed", fail, calls)
	}
}

func TestBreakerHalfOpen(t *testing.T) {
	b, clk := newTestBreaker(3)
	for range 3 {
		b.failure(false)
	}
	wantState(t, b, store.BreakerOpen, false, false)
	clk.Advance(time.Second - 1)
	wantState(t, b, store.BreakerOpen, false, false)

	// After the cooldown exactly one probe goes through.
	clk.Advance(1)
	wantState(t, b, store.BreakerHalfOpen, true, true)
	wantState(t, b, store.BreakerHalfOpen, false, false)
	b.success(false) // a call sent before the breaker opened: decides nothing
	b.failure(false)
	wantState(t, b, store.BreakerHalfOpen, false, false)
	b.failure(true) // probe failed: open for another cooldown
	wantState(t, b, store.BreakerOpen, false, false)
	clk.Advance(time.Second)
	wantState(t, b, store.BreakerHalfOpen, true, true)
	b.abandon(true) // the probe's caller went away: the next call probes
	wantState(t, b, store.BreakerHalfOpen, true, true)
	b.success(true)
	wantState(t, b, store.BreakerClosed, true, false)
	if b.opens.Load() != 1 {
		t.Fatalf("opens = %d, want 1 (reopening after a failed probe is not a new opening)", b.opens.Load())
	}
	// Closing emptied the window: the failures before it do not count.
	if calls, fail := b.counts(); calls != 0 || fail != 0 {
		t.Fatalf("window after closing: %d calls, %d failed; want empty", calls, fail)
	}
	b.failure(false)
	b.failure(false)
	wantState(t, b, store.BreakerClosed, true, false)
	if !b.failure(false) {
		t.Fatal("a new outage did not open the breaker again")
	}
	if b.opens.Load() != 2 {
		t.Fatalf("opens = %d, want 2", b.opens.Load())
	}
}

func TestBreakerClockGoesBack(t *testing.T) {
	b, clk := newTestBreaker(3)
	b.failure(false)
	clk.Advance(-time.Hour)
	b.failure(false)
	if !b.failure(false) {
		t.Fatal("failures on a clock that went back were lost")
	}
}

func TestBreakerDisabled(t *testing.T) {
	b := newBreaker(-1, 0.5, 10*time.Second, time.Second, time.Now)
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
	b, clk := newTestBreaker(1)
	b.failure(false)
	clk.Advance(time.Second)
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

// scripted is a go-redis hook that answers every command itself, without a network, with
// what next says: nil (success), an error, or the caller's cancellation.
type scripted struct {
	mu   sync.Mutex
	next func(ctx context.Context) error
}

func (s *scripted) set(f func(ctx context.Context) error) {
	s.mu.Lock()
	s.next = f
	s.mu.Unlock()
}

func (s *scripted) DialHook(next redis.DialHook) redis.DialHook { return next }

func (s *scripted) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		s.mu.Lock()
		f := s.next
		s.mu.Unlock()
		err := f(ctx)
		cmd.SetErr(err)
		return err
	}
}

func (s *scripted) ProcessPipelineHook(redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		s.mu.Lock()
		f := s.next
		s.mu.Unlock()
		return f(ctx)
	}
}

// timeoutErr is what a read past its deadline returns.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestBreakerThroughStore drives a Store whose client answers from a script, on the injected
// clock: sporadic timeouts leave it healthy, caller cancellations never count, an outage
// opens it at the default minimum volume (20), and the probe closes it.
func TestBreakerThroughStore(t *testing.T) {
	clk := &testClock{now: time.Unix(1_700_000_000, 0)}
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer func() { _ = client.Close() }()
	var s scripted
	client.AddHook(&s)
	r, err := New(client, Options{Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	ctx := context.Background()
	ok := func(context.Context) error { return nil }
	timeout := func(context.Context) error { return timeoutErr{} }

	s.set(ok)
	for i := range 1000 {
		clk.Advance(10 * time.Millisecond)
		if i == 500 {
			s.set(timeout)
			for range 5 {
				if _, err := r.Get(ctx, "k"); !errors.Is(err, store.ErrTimeout) {
					t.Fatalf("timed-out call = %v, want ErrTimeout", err)
				}
			}
			s.set(ok)
		}
		if _, err := r.Get(ctx, "k"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if st := r.Stats(); !r.Healthy() || st.Timeouts != 5 || st.BreakerOpens != 0 {
		t.Fatalf("after 5 timeouts in a row among 1,000 successes: Healthy %v, %+v", r.Healthy(), st)
	}

	// The caller going away, however often, is not a Redis failure.
	clk.Advance(time.Minute)
	for range 100 {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		s.set(func(context.Context) error { return cctx.Err() })
		if _, err := r.Get(cctx, "k"); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Get = %v", err)
		}
	}
	if st := r.Stats(); !r.Healthy() || st.Canceled != 100 || st.Errors != 5 {
		t.Fatalf("after 100 cancellations: Healthy %v, %+v", r.Healthy(), st)
	}

	// An outage: every call fails.
	s.set(func(context.Context) error { return errors.New("dial tcp 127.0.0.1:1: connect: connection refused") })
	for i := 1; i <= 20; i++ {
		clk.Advance(time.Millisecond)
		if err := r.Set(ctx, "k", []byte("v"), time.Minute); err == nil || errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("failing call %d = %v", i, err)
		}
	}
	if err := r.Set(ctx, "k", []byte("v"), time.Minute); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("after 20 failures = %v, want ErrUnavailable", err)
	}
	if st := r.Stats(); st.BreakerOpens != 1 || st.Breaker != store.BreakerOpen || st.Rejected != 1 {
		t.Fatalf("after the outage: %+v", st)
	}

	// The cooldown (2 s by default) ends; Redis is back; the probe closes the breaker.
	clk.Advance(2 * time.Second)
	s.set(ok)
	if err := r.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if st := r.Stats(); !r.Healthy() || st.Breaker != store.BreakerClosed || st.BreakerOpens != 1 {
		t.Fatalf("after the probe: %+v", st)
	}
}

// BenchmarkBreakerSuccess is the breaker's cost on the healthy path: allow, then success.
func BenchmarkBreakerSuccess(b *testing.B) {
	br := newBreaker(20, 0.5, 10*time.Second, time.Second, time.Now)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, probe := br.allow(); ok {
				br.success(probe)
			}
		}
	})
}
