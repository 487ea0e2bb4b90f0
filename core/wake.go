package core

import (
	"sync"
	"sync/atomic"
	"time"
)

// wakers lets the requests that wait for another instance's fill (awaitFleet) look again as
// soon as that instance says it is done (an "F" bus message, sent after its unlock), instead
// of at their next poll: a fleet-wide stampede then costs the origin time plus a bus hop,
// not plus half a polling interval. The polls stay, for a message lost or never sent.
type wakers struct {
	mu    sync.Mutex
	m     map[string]chan struct{} // store key → closed when a fill of it ended elsewhere
	woken atomic.Int64             // waits ended by a message (tests)
	poll  time.Duration            // the longest poll interval; 0: 25 ms (tests raise it)
}

// pollMax is the longest interval between two looks of a request waiting for another
// instance's fill, for a message lost or never sent.
func (w *wakers) pollMax() time.Duration {
	if w.poll > 0 {
		return w.poll
	}
	return 25 * time.Millisecond
}

// wait returns the channel closed at the next fill of key that ends on another instance.
func (w *wakers) wait(key string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = make(map[string]chan struct{})
	}
	ch, ok := w.m[key]
	if !ok {
		ch = make(chan struct{})
		w.m[key] = ch
	}
	return ch
}

// wake wakes the waiters of key, if any.
func (w *wakers) wake(key string) {
	w.mu.Lock()
	ch, ok := w.m[key]
	if ok {
		delete(w.m, key)
	}
	w.mu.Unlock()
	if ok {
		close(ch)
	}
}

// forget drops key's channel when nobody waits for it any longer (a waiter that gave up);
// a later wait makes a new one.
func (w *wakers) forget(key string, ch <-chan struct{}) {
	w.mu.Lock()
	if cur, ok := w.m[key]; ok && (<-chan struct{})(cur) == ch {
		delete(w.m, key)
	}
	w.mu.Unlock()
}
