package redisstore_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store/redisstore"
)

func TestRedisLock(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newRedis(t, srv, redisstore.Options{}), newRedis(t, srv, redisstore.Options{})
	lockScenario(t, a, b)
	lockRaceScenario(t, a, b)
}

func TestRedisTags(t *testing.T) {
	srv := redistest.Start(t)
	tagScenario(t, newRedis(t, srv, redisstore.Options{}), srv.Client(t))
}

func TestRedisPubSub(t *testing.T) {
	srv := redistest.Start(t)
	pubsubScenario(t, newRedis(t, srv, redisstore.Options{}), newRedis(t, srv, redisstore.Options{}))
}

func TestRedisPubSubChannels(t *testing.T) {
	srv := redistest.Start(t)
	a := newRedis(t, srv, redisstore.Options{Prefix: "app1"})
	b := newRedis(t, srv, redisstore.Options{Prefix: "app2"})
	c := newRedis(t, srv, redisstore.Options{Channel: "app2:inval"})
	ca, cb := newCollector(), newCollector()
	defer a.Subscribe(ca.handle, nil)()
	defer b.Subscribe(cb.handle, nil)()
	publishUntil(t, c, "for app2", 5*time.Second, cb)
	publishUntil(t, a, "for app1", 5*time.Second, ca)
	if ca.has("for app2") || cb.has("for app1") {
		t.Fatal("a message crossed channels")
	}
}

// TestRedisPubSubRestart: subscribers come back by themselves after Redis
// restarts, and report the loss and the return through the live callback.
func TestRedisPubSubRestart(t *testing.T) {
	srv := redistest.Start(t)
	var reconnects, losses atomic.Int32
	onRecon := func(up bool) {
		if up {
			reconnects.Add(1)
		} else {
			losses.Add(1)
		}
	}
	a, b := newRedis(t, srv, redisstore.Options{}), newRedis(t, srv, redisstore.Options{})
	ca, cb := newCollector(), newCollector()
	defer a.Subscribe(ca.handle, onRecon)()
	defer b.Subscribe(cb.handle, onRecon)()
	publishUntil(t, a, "before", 5*time.Second, ca, cb)
	if n, l := reconnects.Load(), losses.Load(); n != 2 || l != 0 {
		t.Fatalf("before any outage: live(true) called %d times, live(false) %d; want 2 (once subscribed) and 0", n, l)
	}

	srv.Stop()
	time.Sleep(300 * time.Millisecond) // let the subscribers notice and retry
	srv.Restart()
	publishUntil(t, b, "after restart", 10*time.Second, ca, cb)
	if n := reconnects.Load(); n != 4 {
		t.Fatalf("live(true) called %d times, want twice per subscriber (4)", n)
	}
	if n := losses.Load(); n != 2 {
		t.Fatalf("live(false) called %d times, want once per subscriber (2)", n)
	}
}

// TestRedisPubSubHungServer: a server that stops answering (SIGSTOP) is
// detected by the PING health check while it hangs (live(false)); the
// subscriber reconnects once it answers again (live(true)).
func TestRedisPubSubHungServer(t *testing.T) {
	srv := redistest.Start(t)
	var reconnects atomic.Int32
	lost := make(chan time.Time, 1)
	opts := redisstore.Options{SubscribeHealthCheck: 100 * time.Millisecond}
	a := newRedis(t, srv, opts)
	ca := newCollector()
	defer a.Subscribe(ca.handle, func(up bool) {
		if up {
			reconnects.Add(1)
			return
		}
		select {
		case lost <- time.Now():
		default:
		}
	})()
	publishUntil(t, a, "before", 5*time.Second, ca)
	before := reconnects.Load()

	srv.Pause()
	paused := time.Now()
	select {
	case at := <-lost:
		t.Logf("hung server noticed after %s (health check %s)", at.Sub(paused).Round(time.Millisecond), opts.SubscribeHealthCheck)
	case <-time.After(5 * time.Second):
		srv.Resume()
		t.Fatal("live(false) not called while the server hung")
	}
	if n := reconnects.Load(); n != before {
		t.Fatalf("live(true) called %d times while the server hangs", n-before)
	}
	srv.Resume()
	publishUntil(t, a, "after", 10*time.Second, ca)
	deadline := time.Now().Add(5 * time.Second)
	for reconnects.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("reconnected not called after the server hung")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRedisCloseStopsSubscribers(t *testing.T) {
	srv := redistest.Start(t)
	r, err := redisstore.New(srv.Client(t), redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub := newRedis(t, srv, redisstore.Options{})
	c := newCollector()
	stop := r.Subscribe(c.handle, nil)
	publishUntil(t, pub, "x", 5*time.Second, c)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	stop() // after Close: a no-op
	_ = pub.Publish(ctx, []byte("after close"))
	time.Sleep(100 * time.Millisecond)
	if c.has("after close") {
		t.Fatal("subscriber still running after Close")
	}
	r.Subscribe(c.handle, nil)() // Subscribe after Close: inert
}
