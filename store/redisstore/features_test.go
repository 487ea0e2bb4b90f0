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
// restarts, and report it through the reconnected callback.
func TestRedisPubSubRestart(t *testing.T) {
	srv := redistest.Start(t)
	var reconnects atomic.Int32
	onRecon := func() { reconnects.Add(1) }
	a, b := newRedis(t, srv, redisstore.Options{}), newRedis(t, srv, redisstore.Options{})
	ca, cb := newCollector(), newCollector()
	defer a.Subscribe(ca.handle, onRecon)()
	defer b.Subscribe(cb.handle, onRecon)()
	publishUntil(t, a, "before", 5*time.Second, ca, cb)
	if n := reconnects.Load(); n != 0 {
		t.Fatalf("reconnected called %d times before any outage", n)
	}

	srv.Stop()
	time.Sleep(300 * time.Millisecond) // let the subscribers notice and retry
	srv.Restart()
	publishUntil(t, b, "after restart", 10*time.Second, ca, cb)
	if n := reconnects.Load(); n != 2 {
		t.Fatalf("reconnected called %d times, want once per subscriber (2)", n)
	}
}

// TestRedisPubSubHungServer: a server that stops answering (SIGSTOP) is
// detected by the PING health check; the subscriber reconnects once it
// answers again.
func TestRedisPubSubHungServer(t *testing.T) {
	srv := redistest.Start(t)
	var reconnects atomic.Int32
	opts := redisstore.Options{SubscribeHealthCheck: 100 * time.Millisecond}
	a := newRedis(t, srv, opts)
	ca := newCollector()
	defer a.Subscribe(ca.handle, func() { reconnects.Add(1) })()
	publishUntil(t, a, "before", 5*time.Second, ca)

	srv.Pause()
	time.Sleep(500 * time.Millisecond) // > 2 health-check periods
	srv.Resume()
	publishUntil(t, a, "after", 10*time.Second, ca)
	deadline := time.Now().Add(5 * time.Second)
	for reconnects.Load() == 0 {
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
