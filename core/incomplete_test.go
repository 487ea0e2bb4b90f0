package core

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// shortHandler declares a Content-Length of 10 and writes 5 bytes on its first run, all 10 on
// later ones.
func shortHandler(first chan struct{}) *origin {
	var once sync.Once
	return newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "10")
		short := false
		once.Do(func() {
			short = true
			if first != nil {
				<-first
			}
		})
		if short {
			_, _ = io.WriteString(w, "01234")
			return
		}
		_, _ = io.WriteString(w, "0123456789")
	})
}

// TestIncompleteNotStored: a body shorter than its declared Content-Length is an incomplete
// response (RFC 9111 §3.1): it is not stored, and its client gets it as it is, declared length
// included, so that it can tell it was cut short.
func TestIncompleteNotStored(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	o := shortHandler(nil)
	h := c.Middleware(o)
	w := do(t, h, "GET", "/short")
	wantStatus(t, w, 200)
	wantCacheStatus(t, w, "strata; fwd=uri-miss; fwd-status=200; detail=incomplete")
	if got, cl := body(w), w.Header().Get("Content-Length"); got != "01234" || cl != "10" {
		t.Fatalf("incomplete answer: body %q, Content-Length %q; want the 5 bytes and the declared 10", got, cl)
	}
	w = do(t, h, "GET", "/short")
	if got := body(w); got != "0123456789" || !strings.Contains(w.Header().Get("Cache-Status"), "stored") {
		t.Fatalf("second request: body %q, Cache-Status %q; want the complete answer, stored", got, w.Header().Get("Cache-Status"))
	}
	wantRuns(t, o, 2)
	w = do(t, h, "GET", "/short")
	if got := body(w); got != "0123456789" || !strings.HasPrefix(w.Header().Get("Cache-Status"), "strata; hit") {
		t.Fatalf("third request: body %q, Cache-Status %q; want a hit", got, w.Header().Get("Cache-Status"))
	}
	wantRuns(t, o, 2)
}

// TestIncompleteNotHandedToWaiters: requests that waited for a fill whose answer was cut short
// do not get it (RFC 9111 §3.4 forbids using an incomplete response as if it were whole):
// they run the handler themselves.
func TestIncompleteNotHandedToWaiters(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	first := make(chan struct{})
	o := shortHandler(first)
	h := c.Middleware(o)
	leader := make(chan *httptest.ResponseRecorder)
	go func() { leader <- do(t, h, "GET", "/short") }()
	if _, ok := waitFor(5*time.Second, func() bool { return o.runs.Load() == 1 }); !ok {
		t.Fatal("the leader did not reach the handler")
	}
	const n = 3
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := range bodies {
		wg.Go(func() { bodies[i] = body(do(t, h, "GET", "/short")) })
	}
	if _, ok := waitFor(5*time.Second, func() bool { return c.flights.waiting(c.testKey("/short")) == n }); !ok {
		t.Fatal("the requests did not join the leader's fill")
	}
	close(first)
	if got := body(<-leader); got != "01234" {
		t.Fatalf("leader got %q", got)
	}
	wg.Wait()
	for i, b := range bodies {
		if b != "0123456789" {
			t.Fatalf("waiter %d got %q, want the complete answer of its own run", i, b)
		}
	}
}

// watchWriter records what reached the client's writer.
type watchWriter struct {
	*httptest.ResponseRecorder
	mu      sync.Mutex
	status  int
	written int
}

func (w *watchWriter) WriteHeader(code int) {
	w.mu.Lock()
	w.status = code
	w.mu.Unlock()
	w.ResponseRecorder.WriteHeader(code)
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.status == 0 {
		w.status = 200
	}
	w.written += len(p)
	w.mu.Unlock()
	return w.ResponseRecorder.Write(p)
}

func (w *watchWriter) seen() (int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status, w.written
}

// TestDeclaredLengthOverLimitStreams: a response whose declared Content-Length exceeds
// MaxBodyBytes passes through from its first write, instead of being buffered up to the limit.
func TestDeclaredLengthOverLimitStreams(t *testing.T) {
	c, _ := newTestCache(t, Config{MaxBodyBytes: 100})
	var midStatus, midWritten int
	cw := &watchWriter{ResponseRecorder: httptest.NewRecorder()}
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "200")
		_, _ = io.WriteString(w, strings.Repeat("a", 50))
		midStatus, midWritten = cw.seen()
		_, _ = io.WriteString(w, strings.Repeat("b", 150))
	})
	h := c.Middleware(o)
	h.ServeHTTP(cw, httptest.NewRequest("GET", "/big", nil))
	if midStatus != 200 || midWritten != 50 {
		t.Fatalf("after the first write the client had status %d and %d bytes, want 200 and 50", midStatus, midWritten)
	}
	if got := cw.Body.Len(); got != 200 || cw.Header().Get("Content-Length") != "200" {
		t.Fatalf("client got %d bytes, Content-Length %q", got, cw.Header().Get("Content-Length"))
	}
	if cs := cw.Header().Get("Cache-Status"); cs != "strata; fwd=uri-miss; fwd-status=200; detail=too-large" {
		t.Fatalf("Cache-Status %q", cs)
	}
	// A declared length within the limit is buffered and stored as before.
	o2 := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, strings.Repeat("c", 100))
	})
	h2 := c.Middleware(o2)
	do(t, h2, "GET", "/fits")
	if w := do(t, h2, "GET", "/fits"); !strings.HasPrefix(w.Header().Get("Cache-Status"), "strata; hit") || body(w) != strings.Repeat("c", 100) {
		t.Fatalf("a declared length at the limit: Cache-Status %q", w.Header().Get("Cache-Status"))
	}
	wantRuns(t, o2, 1)
}
