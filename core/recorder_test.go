package core

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestLateWriteFailsCleanly: a handler leaves a goroutine that keeps writing after the
// handler returned, while other requests fill through pooled buffers. Under -race the
// detector must stay silent; once the cache has answered, a late write must fail with
// ErrHandlerReturned, and every stored and served body must be intact.
func TestLateWriteFailsCleanly(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	served := make(chan struct{}) // closed once the leaky request's answer is out
	lateErr := make(chan error, 1)
	var late sync.WaitGroup
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if r.URL.Path == "/leaky" {
			_, _ = io.WriteString(w, "leaky")
			late.Go(func() {
				junk := []byte("!!!!!!!!")
				for {
					// These writes race with the cache finishing the request: each one is
					// either part of the answer (it came before the cache took the
					// response) or refused, never a write into a recycled buffer.
					if _, err := w.Write(junk); err != nil {
						lateErr <- err
						return
					}
					select {
					case <-served:
						_, err := w.Write(junk)
						lateErr <- err
						return
					default:
					}
				}
			})
			return
		}
		_, _ = io.WriteString(w, "body of "+r.URL.Path)
	})
	mw := c.Middleware(h)

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				path := fmt.Sprintf("/p%d-%d", g, i)
				for range 2 { // a miss, then a hit of what was stored
					rw := do(t, mw, "GET", "http://example.com"+path)
					if got := body(rw); got != "body of "+path {
						t.Errorf("%s: body of %d bytes (%.40q…), Cache-Status %q", path, len(got), got, rw.Header().Get("Cache-Status"))
						return
					}
				}
			}
		})
	}
	w := do(t, mw, "GET", "http://example.com/leaky")
	close(served)
	wg.Wait()
	late.Wait()
	leaky := body(w)
	if strings.Trim(strings.TrimPrefix(leaky, "leaky"), "!") != "" || !strings.HasPrefix(leaky, "leaky") {
		t.Fatalf("the leaky handler's client got %d bytes (%.40q…), want \"leaky\" and its own writes only", len(leaky), leaky)
	}
	if err := <-lateErr; !errors.Is(err, ErrHandlerReturned) {
		t.Fatalf("a write after the answer went out: error %v, want ErrHandlerReturned", err)
	}
	rw := do(t, mw, "GET", "http://example.com/leaky")
	if got := body(rw); got != leaky || !strings.Contains(rw.Header().Get("Cache-Status"), "hit") {
		t.Fatalf("stored leaky answer: %d bytes (%.40q…), Cache-Status %q, want the hit of what its client got",
			len(got), got, rw.Header().Get("Cache-Status"))
	}
}
