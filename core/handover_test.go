package core

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSlowLeaderHandsOver: when the leader of a fill is slower than LockWait, one waiter takes
// over and the others wait for either fill: 40 concurrent requests cost two origin runs, not
// forty, and every one of them gets the answer.
func TestSlowLeaderHandsOver(t *testing.T) {
	c, _ := newTestCache(t, Config{LockWait: 100 * time.Millisecond})
	var runs atomic.Int64
	release := make(chan struct{})
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) == 1 {
			<-release // the first leader is slower than LockWait
		}
		time.Sleep(20 * time.Millisecond)
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("ok"))
	}))
	var wg sync.WaitGroup
	bad := make(chan string, 40)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if w := do(t, h, "GET", "/slow"); w.Code != http.StatusOK || body(w) != "ok" {
				bad <- w.Header().Get("Cache-Status")
			}
		}()
	}
	// Every request joined the first leader's fill before it is let go (after two LockWaits,
	// by which time the takeover has answered everyone).
	time.Sleep(250 * time.Millisecond)
	close(release)
	wg.Wait()
	close(bad)
	for s := range bad {
		t.Errorf("a request was not answered with the fill: %q", s)
	}
	if n := runs.Load(); n != 2 {
		t.Fatalf("origin runs: %d, want 2 (the slow leader and one takeover)", n)
	}
}
