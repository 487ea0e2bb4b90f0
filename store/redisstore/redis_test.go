package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store"
	"github.com/strata-cache/strata/store/redisstore"
	"github.com/strata-cache/strata/store/storetest"
)

func TestRedisSuite(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, srv, redisstore.Options{Timeout: time.Second})
	storetest.Run(t, func(*testing.T) core.Tier { return r })
	if !r.Healthy() || r.Stats().Errors != 0 {
		t.Fatalf("after the suite: Healthy %v, Stats %+v", r.Healthy(), r.Stats())
	}
}

func TestRedisSuiteUnixSocket(t *testing.T) {
	srv := redistest.Start(t, redistest.WithUnixSocket())
	r, err := redisstore.NewFromURL(srv.URL(), redisstore.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	storetest.Run(t, func(*testing.T) core.Tier { return r })
}

// TestRedisSuiteDeadlineIgnoringClient runs the suite over a client without
// ContextTimeoutEnabled, which the store drives on helper goroutines.
func TestRedisSuiteDeadlineIgnoringClient(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	var logs logBuffer
	r, err := redisstore.New(c, redisstore.Options{Timeout: time.Second, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "ContextTimeoutEnabled") {
		t.Errorf("no log line about ContextTimeoutEnabled; logs:\n%s", logs.String())
	}
	storetest.Run(t, func(*testing.T) core.Tier { return r })
}

func TestNewRedisFromURL(t *testing.T) {
	srv := redistest.Start(t)
	r, err := redisstore.NewFromURL(srv.URL(), redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Client().Ping(ctx).Err(); !errors.Is(err, redis.ErrClosed) {
		t.Fatalf("PING after Close = %v, want redis.ErrClosed: the store owns its client", err)
	}

	for _, bad := range []string{"http://127.0.0.1:1", "redis://127.0.0.1:1/0?bogus=1"} {
		if _, err := redisstore.NewFromURL(bad, redisstore.Options{}); err == nil || !strings.HasPrefix(err.Error(), "store: ") {
			t.Errorf("NewRedisFromURL(%q) = %v, want a store: error", bad, err)
		}
	}
}

func TestNewRedisOptions(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer func() { _ = c.Close() }()
	for _, tc := range []struct {
		name    string
		opts    redisstore.Options
		wantErr string
	}{
		{"zero value", redisstore.Options{}, ""},
		{"disabled timeout and breaker", redisstore.Options{Timeout: -1, BreakerFailures: -1}, ""},
		{"braces in prefix", redisstore.Options{Prefix: "a{b}"}, "braces"},
		{"negative cooldown", redisstore.Options{BreakerCooldown: -time.Second}, "BreakerCooldown"},
		{"negative window", redisstore.Options{BreakerWindow: -time.Second}, "BreakerWindow"},
		{"failure rate above 1", redisstore.Options{BreakerFailureRate: 1.5}, "BreakerFailureRate"},
		{"negative failure rate", redisstore.Options{BreakerFailureRate: -0.5}, "BreakerFailureRate"},
		{"failure rate 1", redisstore.Options{BreakerFailureRate: 1}, ""},
		{"negative health check", redisstore.Options{SubscribeHealthCheck: -time.Second}, "SubscribeHealthCheck"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			r, err := redisstore.New(c, opts)
			if opts.Prefix != tc.opts.Prefix || opts.Timeout != tc.opts.Timeout || opts.Logger != nil {
				t.Fatalf("NewRedis modified the caller's options")
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				_ = r.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "store: ") {
				t.Fatalf("NewRedis error = %v, want one starting %q and containing %q", err, "store: ", tc.wantErr)
			}
		})
	}
	if _, err := redisstore.New(nil, redisstore.Options{}); err == nil {
		t.Fatal("NewRedis(nil) succeeded")
	}
}

func TestRedisDefaults(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, srv, redisstore.Options{})
	if got, want := r.TagKey("product:1"), "strata:tag:{product:1}"; got != want {
		t.Errorf("TagKey = %q, want %q", got, want)
	}
	if id := r.InstanceID(); len(id) != 16 {
		t.Errorf("InstanceID() = %q, want 16 hex digits", id)
	}
	if r2 := newRedis(t, srv, redisstore.Options{}); r2.InstanceID() == r.InstanceID() {
		t.Errorf("two stores share InstanceID %q", r.InstanceID())
	}
	if !r.Healthy() || r.Stats().Breaker != store.BreakerClosed {
		t.Errorf("new store: Healthy %v, Stats %+v", r.Healthy(), r.Stats())
	}
}

func TestTierStats(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, srv, redisstore.Options{})
	if err := r.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	_, _ = r.Get(ctx, "k")
	_, _ = r.Get(ctx, "k")
	_, _ = r.Get(ctx, "nope")
	st := r.Stats()
	if st.Gets != 3 || st.Hits != 2 || st.Misses != 1 || st.Errors != 0 {
		t.Fatalf("Stats() = %+v, want 3 gets, 2 hits, 1 miss, no errors", st)
	}
}

// TestRedisUsable: a value the caller's Usable rejects is a miss, for Get and for the
// counters.
func TestRedisUsable(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, srv, redisstore.Options{Usable: func(v []byte) bool { return bytes.HasPrefix(v, []byte("ok")) }})
	if err := r.Set(ctx, "good", []byte("ok:1"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ctx, "bad", []byte("garbage"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := r.Get(ctx, "bad"); !errors.Is(err, store.ErrNotFound) || v != nil {
		t.Fatalf("Get(bad) = %q, %v; want nil, ErrNotFound", v, err)
	}
	if v, err := r.Get(ctx, "good"); err != nil || string(v) != "ok:1" {
		t.Fatalf("Get(good) = %q, %v; want ok:1", v, err)
	}
	st := r.Stats()
	if st.Gets != 2 || st.Hits != 1 || st.Misses != 1 || st.Unusable != 1 {
		t.Fatalf("Stats() = %+v, want 2 gets, 1 hit, 1 miss, 1 unusable", st)
	}
}

func TestRedisCounter(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, srv, redisstore.Options{})
	if n, err := r.GetInt(ctx, "ns:gen"); n != 0 || err != nil {
		t.Fatalf("GetInt of a missing key = %d, %v; want 0, nil", n, err)
	}
	for want := int64(1); want <= 3; want++ {
		if n, err := r.Incr(ctx, "ns:gen"); n != want || err != nil {
			t.Fatalf("Incr = %d, %v; want %d", n, err, want)
		}
	}
	if n, err := r.GetInt(ctx, "ns:gen"); n != 3 || err != nil {
		t.Fatalf("GetInt = %d, %v; want 3", n, err)
	}
	if err := r.Set(ctx, "ns:text", []byte("abc"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetInt(ctx, "ns:text"); err == nil || !strings.HasPrefix(err.Error(), "store: ") {
		t.Fatalf("GetInt of a non-integer = %v, want a store: error", err)
	}
	if st := r.Stats(); st.Errors != 0 || !r.Healthy() {
		t.Fatalf("a bad value counted as a Redis failure: %+v", st)
	}
}

// TestRedisErrorReplyIsNotAnOutage: an error reply proves the server is up,
// so it is returned and counted but does not trip the breaker.
func TestRedisErrorReplyIsNotAnOutage(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, srv, redisstore.Options{BreakerFailures: 1})
	if err := srv.Client(t).SAdd(ctx, "set", "m").Err(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, err := r.Get(ctx, "set")
		if err == nil || !strings.Contains(err.Error(), "WRONGTYPE") || !strings.HasPrefix(err.Error(), "store: ") {
			t.Fatalf("Get of a set = %v, want a store: WRONGTYPE error", err)
		}
	}
	if st := r.Stats(); !r.Healthy() || st.Errors != 3 || st.BreakerOpens != 0 {
		t.Fatalf("Healthy %v, Stats %+v; want a closed breaker and 3 errors", r.Healthy(), st)
	}
}

// callCounter counts commands that reach go-redis's network layer, and
// dials.
type callCounter struct{ calls, dials atomic.Int64 }

func (c *callCounter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c.dials.Add(1)
		return next(ctx, network, addr)
	}
}

func (c *callCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.calls.Add(1)
		return next(ctx, cmd)
	}
}

func (c *callCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.calls.Add(1)
		return next(ctx, cmds)
	}
}

// timed runs fn and returns how long it took.
func timed(fn func()) time.Duration {
	start := time.Now()
	fn()
	return time.Since(start)
}

// slack is what a call may take beyond its Timeout on a loaded machine
// under -race.
const slack = 150 * time.Millisecond

// waitHealthy polls a store until a Set succeeds.
func waitHealthy(t *testing.T, r *redisstore.Store, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := r.Set(ctx, "probe", []byte("v"), time.Minute)
		if err == nil && r.Healthy() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("store not healthy %s after the server came back: %v, %+v", within, err, r.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRedisBreakerWhenServerStopped(t *testing.T) {
	srv := redistest.Start(t)
	var cc callCounter
	client := srv.Client(t)
	client.AddHook(&cc)
	const timeout, cooldown = 100 * time.Millisecond, 300 * time.Millisecond
	r, err := redisstore.New(client, redisstore.Options{Timeout: timeout, BreakerFailures: 3, BreakerCooldown: cooldown})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	for i := range 3 {
		var err error
		if d := timed(func() { _, err = r.Get(ctx, "k") }); d > timeout+slack {
			t.Errorf("failing call %d took %s, want at most Timeout %s + %s", i, d, timeout, slack)
		}
		if err == nil || errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.Canceled) {
			t.Fatalf("call %d while down = %v, want a Redis failure", i, err)
		}
	}
	if r.Healthy() {
		t.Fatalf("breaker still closed after 3 failures: %+v", r.Stats())
	}
	calls, dials := cc.calls.Load(), cc.dials.Load()
	for range 10 {
		var err error
		if d := timed(func() { err = r.Set(ctx, "k", []byte("v"), time.Minute) }); d > 10*time.Millisecond {
			t.Errorf("refused call took %s", d)
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("call while open = %v, want ErrUnavailable", err)
		}
	}
	if cc.calls.Load() != calls || cc.dials.Load() != dials {
		t.Fatalf("open breaker let calls through: %d→%d commands, %d→%d dials", calls, cc.calls.Load(), dials, cc.dials.Load())
	}
	st := r.Stats()
	if st.BreakerOpens != 1 || st.Rejected != 10 || st.Errors != 3 || st.Breaker != store.BreakerOpen {
		t.Fatalf("Stats() = %+v, want 1 opening, 10 rejected, 3 errors, open", st)
	}

	// Still down after the cooldown: the probe fails and it reopens.
	time.Sleep(cooldown + 50*time.Millisecond)
	if _, err := r.Get(ctx, "k"); err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("probe while down = %v, want a Redis failure", err)
	}
	if _, err := r.Get(ctx, "k"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("call after a failed probe = %v, want ErrUnavailable", err)
	}

	srv.Restart()
	waitHealthy(t, r, 5*time.Second)
	if _, err := r.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) { // no persistence
		t.Fatalf("Get after restart = %v, want ErrNotFound", err)
	}
	if st := r.Stats(); st.BreakerOpens != 1 || st.Breaker != store.BreakerClosed {
		t.Fatalf("Stats() = %+v, want closed after one opening", st)
	}
}

func TestRedisBreakerWhenServerHangs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(srv *redistest.Server) *redis.Client
	}{
		{"deadline-honouring client", func(srv *redistest.Server) *redis.Client { return srv.Client(t) }},
		{"deadline-ignoring client", func(srv *redistest.Server) *redis.Client {
			c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
			t.Cleanup(func() { _ = c.Close() })
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			const timeout = 100 * time.Millisecond
			r, err := redisstore.New(tc.client(srv), redisstore.Options{Timeout: timeout, BreakerFailures: 3, BreakerCooldown: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
				t.Fatal(err)
			}
			srv.Pause()
			t.Cleanup(srv.Resume)
			for i := range 3 {
				var err error
				if d := timed(func() { _, err = r.Get(ctx, "k") }); d > timeout+slack {
					t.Errorf("call %d to a hung server took %s, want at most %s + %s", i, d, timeout, slack)
				}
				if !errors.Is(err, store.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("call %d = %v, want ErrTimeout (and not context.DeadlineExceeded)", i, err)
				}
			}
			if _, err := r.Get(ctx, "k"); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("after 3 timeouts = %v, want ErrUnavailable", err)
			}
			if st := r.Stats(); st.Timeouts != 3 || st.BreakerOpens != 1 {
				t.Fatalf("Stats() = %+v, want 3 timeouts, 1 opening", st)
			}
			srv.Resume()
			waitHealthy(t, r, 10*time.Second)
		})
	}
}

// TestRedisCallerCancellation: a caller whose context ends is not a Redis
// failure; it gets its own ctx.Err() back.
func TestRedisCallerCancellation(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, srv, redisstore.Options{Timeout: time.Second, BreakerFailures: 1})

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Get(canceled, "k"); err != context.Canceled {
		t.Fatalf("Get with a cancelled context = %v, want context.Canceled", err)
	}

	srv.Pause()
	t.Cleanup(srv.Resume)
	c2, cancel2 := context.WithCancel(ctx)
	time.AfterFunc(30*time.Millisecond, cancel2)
	var err error
	if d := timed(func() { _, err = r.Get(c2, "k") }); d > time.Second+slack {
		t.Errorf("cancelled Get took %s", d)
	}
	if err != context.Canceled {
		t.Fatalf("Get cancelled mid-call = %v, want context.Canceled", err)
	}

	short, cancel3 := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel3()
	if _, err := r.Get(short, "k"); err != context.DeadlineExceeded || errors.Is(err, store.ErrTimeout) {
		t.Fatalf("Get past the caller's own deadline = %v, want context.DeadlineExceeded", err)
	}

	if st := r.Stats(); !r.Healthy() || st.Errors != 0 || st.Canceled != 3 {
		t.Fatalf("after 3 caller cancellations with BreakerFailures 1: Healthy %v, Stats %+v; want closed, 0 errors, 3 canceled", r.Healthy(), st)
	}

	// The store's own timeout, by contrast, counts.
	r2 := newRedis(t, srv, redisstore.Options{Timeout: 50 * time.Millisecond, BreakerFailures: 1})
	if _, err := r2.Get(ctx, "k"); !errors.Is(err, store.ErrTimeout) {
		t.Fatalf("Get past the store's timeout = %v, want ErrTimeout", err)
	}
	if r2.Healthy() {
		t.Fatal("the store's own timeout did not count as a failure")
	}
}

func TestRedisTimeoutDisabled(t *testing.T) {
	srv := redistest.Start(t)
	r := newRedis(t, srv, redisstore.Options{Timeout: -1, BreakerFailures: 1})
	srv.Pause()
	t.Cleanup(srv.Resume)
	c, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := r.Get(c, "k"); err != context.DeadlineExceeded {
		t.Fatalf("Get = %v, want the caller's context.DeadlineExceeded (no store timeout)", err)
	}
	if !r.Healthy() {
		t.Fatal("breaker opened on the caller's deadline")
	}
}

func TestRedisLogsRateLimited(t *testing.T) {
	srv := redistest.Start(t)
	var logs logBuffer
	clk := newFakeClock()
	r := newRedis(t, srv, redisstore.Options{BreakerFailures: -1, Logger: logs.logger(), Clock: clk.Now})
	srv.Stop()
	for range 5 {
		_, _ = r.Get(ctx, "k")
		_ = r.Set(ctx, "k", nil, time.Minute)
	}
	out := logs.String()
	if n := strings.Count(out, "op=GET"); n != 1 {
		t.Errorf("%d GET failure lines within one second, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "op=SET"); n != 1 {
		t.Errorf("%d SET failure lines within one second, want 1 (kinds are limited apart):\n%s", n, out)
	}
	clk.Advance(time.Second)
	_, _ = r.Get(ctx, "k")
	out = logs.String()
	if n := strings.Count(out, "op=GET"); n != 2 || !strings.Contains(out, "suppressed=4") {
		t.Errorf("after a second: %d GET lines, want 2, the second with suppressed=4:\n%s", n, out)
	}
	if !r.Healthy() {
		t.Error("disabled breaker opened")
	}
}
