package core

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/redistest"
)

func TestWakers(t *testing.T) {
	var w wakers
	a := w.wait("k")
	if b := w.wait("k"); b != a {
		t.Fatal("two waits of one key got two channels")
	}
	w.wake("other")
	select {
	case <-a:
		t.Fatal("woken by another key's message")
	default:
	}
	w.wake("k")
	select {
	case <-a:
	default:
		t.Fatal("not woken")
	}
	c := w.wait("k")
	w.forget("k", c)
	if len(w.m) != 0 {
		t.Fatalf("forget left %d channels", len(w.m))
	}
	w.forget("k", a) // an old channel: nothing to do
	w.wake("k")      // nobody waits: nothing to do
}

// TestFleetWaiterWokenByFill: a request waiting for another instance's fill looks again when
// that instance's "F" message arrives, not at its next poll, and gets the stored answer; the
// leader's origin is slow enough that the waiter's polls are 25 ms apart by then.
func TestFleetWaiterWokenByFill(t *testing.T) {
	srv := redistest.Start(t)
	if srv == nil {
		return
	}
	release := make(chan struct{})
	f := newFleet(t, srv.Client(t), 2, Config{Namespace: "wake"}, func(w http.ResponseWriter, r *http.Request) {
		<-release
		publicHandler("max-age=60", "filled")(w, r)
	}, redisOpts{Timeout: slowTolerant})
	// The waiter's polls are an hour apart: only the leader's message can end its wait before
	// LockWait (a poll that found the stored entry first would make this test racy).
	f.caches[1].wakers.poll = time.Hour
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); do(t, f.h[0], "GET", "/w") }() // the leader
	if _, ok := waitFor(5*time.Second, func() bool { return f.origins[0].runs.Load() == 1 }); !ok {
		t.Fatal("the leader's origin did not run")
	}
	var got string
	go func() { defer wg.Done(); got = body(do(t, f.h[1], "GET", "/w")) }() // waits in the fleet
	time.Sleep(300 * time.Millisecond)
	close(release)
	wg.Wait()
	if got != "filled" || f.runs() != 1 {
		t.Fatalf("waiter got %q, origin runs %d; want the leader's answer and 1 run", got, f.runs())
	}
	if n := f.caches[1].wakers.woken.Load(); n != 1 {
		t.Fatalf("the waiter was woken %d times by the leader's message, want 1", n)
	}
	if n := len(f.caches[1].wakers.m); n != 0 {
		t.Fatalf("%d wait channels left behind", n)
	}
}
