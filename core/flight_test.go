package core

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// join: the first caller leads, the others wait on the same call; finish hands every waiter
// the leader's result, and the key is free for a new fill.
func TestFlightsJoinFinish(t *testing.T) {
	var f flights
	cl, leader := f.join("k")
	if !leader || !f.inFlight("k") {
		t.Fatal("the first join must lead")
	}
	const n = 5
	got := make(chan fillResult, n)
	for range n {
		w, lead := f.join("k")
		if lead || w != cl {
			t.Fatal("a join while a call is in progress must wait on it")
		}
		go func() { <-w.done; got <- w.res }()
	}
	if w := f.waiting("k"); w != n {
		t.Fatalf("waiting %d, want %d", w, n)
	}
	if _, lead := f.join("other"); !lead {
		t.Fatal("another key is a call of its own")
	}
	f.finish("k", cl, fillResult{raw: []byte("entry"), variant: 7})
	for range n {
		if r := <-got; string(r.raw) != "entry" || r.variant != 7 {
			t.Fatalf("waiter got %+v", r)
		}
	}
	if f.inFlight("k") || f.waiting("k") != 0 {
		t.Fatal("the key is still in flight after finish")
	}
	if next, lead := f.join("k"); !lead || next == cl {
		t.Fatal("after finish, a join leads a new call")
	}
}

// finish is idempotent, and the finish of an old call never ends the key's new one.
func TestFlightsFinishIdempotent(t *testing.T) {
	var f flights
	old, _ := f.join("k")
	f.finish("k", old, fillResult{raw: []byte("first")})
	f.finish("k", old, fillResult{failed: true}) // a deferred finish after the real one
	if string(old.res.raw) != "first" || old.res.failed {
		t.Fatalf("a second finish changed the result: %+v", old.res)
	}
	cur, lead := f.join("k")
	if !lead {
		t.Fatal("join after finish must lead")
	}
	f.finish("k", old, fillResult{failed: true})
	if !f.inFlight("k") {
		t.Fatal("a finish of an old call ended the new one")
	}
	select {
	case <-cur.done:
		t.Fatal("the new call was woken by an old finish")
	default:
	}
	f.finish("k", cur, fillResult{})
}

// tryLead starts a call only when none is in progress (a background refresh never waits, and
// never runs twice); requests that join meanwhile wait for the refresh.
func TestFlightsTryLead(t *testing.T) {
	var f flights
	cl, ok := f.tryLead("k")
	if !ok || cl == nil {
		t.Fatal("tryLead on a free key must lead")
	}
	if again, ok := f.tryLead("k"); ok || again != nil {
		t.Fatal("a second refresh of the key started")
	}
	if w, lead := f.join("k"); lead || w != cl {
		t.Fatal("a fill joining during a refresh must wait on it")
	}
	f.finish("k", cl, fillResult{})
	if _, ok := f.tryLead("k"); !ok {
		t.Fatal("tryLead after the refresh finished must lead")
	}
}

// Hand-over: a leader that fails (its client left, or it panicked) wakes its waiters with
// failed; they look again and join anew, and exactly one of them leads the next call.
func TestFlightsHandOver(t *testing.T) {
	var f flights
	cl, _ := f.join("k")
	const n = 8
	var woken, leaders atomic.Int64
	var wg sync.WaitGroup
	next := make(chan *call, n)
	for range n {
		w, _ := f.join("k")
		wg.Go(func() {
			<-w.done
			if !w.res.failed {
				t.Error("waiter woke without the failure")
				return
			}
			woken.Add(1)
			c2, lead := f.join("k")
			if lead {
				leaders.Add(1)
			}
			next <- c2
		})
	}
	f.finish("k", cl, fillResult{failed: true})
	wg.Wait()
	close(next)
	var second *call
	for c2 := range next {
		if second == nil {
			second = c2
		} else if c2 != second {
			t.Fatal("the waiters joined different calls")
		}
	}
	if woken.Load() != n || leaders.Load() != 1 {
		t.Fatalf("woken %d of %d, leaders of the next call %d (want 1)", woken.Load(), n, leaders.Load())
	}
	if w := f.waiting("k"); w != n-1 {
		t.Fatalf("the next call has %d waiters, want %d", w, n-1)
	}
}

// Under concurrent joins of one key, exactly one caller leads.
func TestFlightsOneLeader(t *testing.T) {
	var f flights
	for round := 0; round < 50; round++ {
		var leaders atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		var lead *call
		var mu sync.Mutex
		for range 16 {
			wg.Go(func() {
				<-start
				if c, ok := f.join("k"); ok {
					leaders.Add(1)
					mu.Lock()
					lead = c
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if leaders.Load() != 1 {
			t.Fatalf("round %d: %d leaders", round, leaders.Load())
		}
		f.finish("k", lead, fillResult{})
	}
}

// marks: a mark holds until its deadline; take consumes it for one caller.
func TestMarksTake(t *testing.T) {
	m := marks{max: 10}
	m.set("k", 100)
	if !m.has("k", 99) || m.has("k", 100) {
		t.Fatal("has must hold a mark until its deadline")
	}
	m.set("k", 100)
	if !m.take("k", 50) || m.take("k", 50) {
		t.Fatal("take must consume a mark once")
	}
	m.set("k", 100)
	if m.take("k", 100) || m.has("k", 0) {
		t.Fatal("take of an expired mark must report false and drop it")
	}
}

// waitLog records the Observer's Waiter events.
type waitLog struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (o *waitLog) Request(Event)              {}
func (o *waitLog) Store(string, Reason, bool) {}
func (o *waitLog) Error(TierName, Op)         {}
func (o *waitLog) Purge(PurgeKind, int)       {}
func (o *waitLog) Waiter(d time.Duration, served bool) {
	o.mu.Lock()
	if served {
		o.waits = append(o.waits, d)
	}
	o.mu.Unlock()
}

// A coalesced waiter's wait is measured on the injected clock, as every duration in core is:
// the leader's fill takes 3 s on that clock, whatever the wall clock says.
func TestWaiterDurationOnInjectedClock(t *testing.T) {
	obs := &waitLog{}
	var clk *clock
	release := make(chan struct{})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		<-release
		clk.Advance(3 * time.Second)
		publicHandler("max-age=60", "x")(w, r)
	})
	var c *Cache
	c, clk = newTestCache(t, Config{Observer: obs})
	h := c.Middleware(o)
	done := make(chan struct{})
	go func() { defer close(done); do(t, h, "GET", "/w") }()
	key := c.testKey("/w")
	if _, ok := waitFor(5*time.Second, func() bool { return c.flights.inFlight(key) }); !ok {
		t.Fatal("no fill started")
	}
	waiter := make(chan struct{})
	go func() { defer close(waiter); do(t, h, "GET", "/w") }()
	if _, ok := waitFor(5*time.Second, func() bool { return c.flights.waiting(key) == 1 }); !ok {
		t.Fatal("the second request did not join the fill")
	}
	close(release)
	<-done
	<-waiter
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.waits) != 1 || obs.waits[0] != 3*time.Second {
		t.Fatalf("waits %v, want [3s]", obs.waits)
	}
}
