package core

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBypassReason(t *testing.T) {
	for _, tc := range []struct {
		method string
		header []string
		want   Reason
	}{
		{"GET", nil, ""},
		{"GET", []string{"Connection: Upgrade", "Upgrade: websocket"}, ReasonUpgrade},
		{"GET", []string{"Connection: keep-alive, upgrade", "Upgrade: websocket"}, ReasonUpgrade},
		{"GET", []string{"Connection: keep-alive", "Connection: HTTP2-Settings ,UPGRADE", "Upgrade: h2c"}, ReasonUpgrade},
		{"POST", []string{"Connection: Upgrade", "Upgrade: websocket"}, ReasonUpgrade},
		{"HEAD", []string{"Connection: Upgrade", "Upgrade: websocket"}, ReasonUpgrade},
		{"GET", []string{"Upgrade: websocket"}, ""},                                 // no connection option
		{"GET", []string{"Connection: Upgrade"}, ""},                                // nothing to upgrade to
		{"GET", []string{"Connection: upgrades", "Upgrade: websocket"}, ""},         // another token
		{"GET", []string{"Connection: keep-alive,", "Upgrade: websocket"}, ""},      // empty list members
		{"GET", []string{"Connection: ,,,", "Upgrade: websocket"}, ""},              // only empty members
		{"CONNECT", nil, ReasonConnect},                                             // a tunnel
		{"CONNECT", []string{":protocol: websocket"}, ReasonUpgrade},                // RFC 8441 extended CONNECT
		{"OPTIONS", []string{"Connection: close", "Upgrade: websocket"}, ""},        // not the option
		{"GET", []string{"Connection: Upgrade", "Upgrade: "}, ReasonUpgrade},        // present, if empty
		{"PUT", []string{"Connection: upgrade", "Upgrade: TLS/1.0"}, ReasonUpgrade}, // any protocol
	} {
		r := httptest.NewRequest("GET", "http://example.com/a", nil)
		r.Method = tc.method
		for _, kv := range tc.header {
			k, v, _ := strings.Cut(kv, ": ")
			r.Header[k] = append(r.Header[k], v) // as received: ":protocol" is not canonicalised
		}
		if got := bypassReason(r); got != tc.want {
			t.Errorf("%s %q: got %q, want %q", tc.method, tc.header, got, tc.want)
		}
	}
}

func TestBypassReasonCostsNothing(t *testing.T) {
	r := httptest.NewRequest("GET", "http://example.com/a", nil)
	r.Header.Set("Accept", "*/*")
	if n := testing.AllocsPerRun(100, func() { _ = bypassReason(r) }); n != 0 {
		t.Fatalf("bypassReason of a plain GET: %v allocations, want 0", n)
	}
}

// events records Observer events.
type events struct {
	mu   sync.Mutex
	evs  []Event
	errs atomic.Int64 // Error calls
}

func (o *events) Request(ev Event) {
	o.mu.Lock()
	o.evs = append(o.evs, ev)
	o.mu.Unlock()
}
func (o *events) Store(string, Reason, bool) {}
func (o *events) Error(TierName, Op)         { o.errs.Add(1) }
func (o *events) Purge(PurgeKind, int)       {}
func (o *events) Waiter(time.Duration, bool) {}

func (o *events) last() Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.evs) == 0 {
		return Event{Result: Result(255)}
	}
	return o.evs[len(o.evs)-1]
}

// TestConnectBypasses: CONNECT is passed through with its own Cache-Status, and a tunnel
// that opened (2xx) does not invalidate the URL as an unsafe method's success would.
func TestConnectBypasses(t *testing.T) {
	obs := &events{}
	c, _ := newTestCache(t, Config{Observer: obs})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect {
			if _, ok := w.(http.Hijacker); !ok {
				t.Errorf("CONNECT: the handler's writer %T is no http.Hijacker", w)
			}
			w.WriteHeader(http.StatusOK)
			return
		}
		publicHandler("max-age=60", "page")(w, r)
	})
	h := c.Middleware(o)
	wantCacheStatus(t, do(t, h, "GET", "http://example.com/a"), "strata; fwd=uri-miss; ttl=60; stored")

	for _, tc := range []struct {
		name   string
		header http.Header
		detail string
	}{
		{"connect", nil, "connect"},
		{"extended connect", http.Header{":protocol": {"websocket"}}, "upgrade"},
	} {
		r := httptest.NewRequest("GET", "http://example.com/a", nil)
		r.Method = http.MethodConnect
		for k, v := range tc.header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		wantStatus(t, w, http.StatusOK)
		wantCacheStatus(t, w, "strata; fwd=bypass; detail="+tc.detail)
		if ev := obs.last(); ev.Result != ResultBypass || string(ev.Reason) != tc.detail || ev.Status != http.StatusOK {
			t.Fatalf("%s: event %+v, want a bypass for %q with status 200", tc.name, ev, tc.detail)
		}
	}
	wantCacheStatus(t, do(t, h, "GET", "http://example.com/a"), "strata; hit; ttl=60")
	wantRuns(t, o, 3)
}

// TestUpgradeWriter: the handler of an upgrade gets a writer that hijacks (also through
// http.ResponseController), flushes and unwraps to the client's, and the Observer hears of
// a bypass.
func TestUpgradeWriter(t *testing.T) {
	obs := &events{}
	c, _ := newTestCache(t, Config{Observer: obs})
	hijacked := make(chan error, 1)
	served := make(chan struct{}) // the cache's handler returned
	var mw http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(served)
		mw.ServeHTTP(w, r)
	}))
	defer srv.Close()
	mw = c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Errorf("%T is no http.Flusher", w)
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok || u.Unwrap() == nil {
			t.Errorf("%T does not unwrap to the client's writer", w)
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		hijacked <- err
		if err != nil {
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		_ = brw.Flush()
	}))
	req, _ := http.NewRequest("GET", srv.URL+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if err := <-hijacked; err != nil {
		t.Fatalf("hijack through the cache: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", resp.StatusCode)
	}
	<-served
	if ev := obs.last(); ev.Result != ResultBypass || ev.Reason != ReasonUpgrade {
		t.Fatalf("event %+v, want a bypass for upgrade", ev)
	}
}

// TestBypassStripsSurrogateKeys: the surrogate keys a handler sets for this cache (and a CDN,
// when forwarded) do not reach the client of a request the cache passes by or an unsafe
// method, unless ForwardSurrogateKey.
func TestBypassStripsSurrogateKeys(t *testing.T) {
	for _, fwd := range []bool{false, true} {
		c, _ := newTestCache(t, Config{ForwardSurrogateKey: fwd})
		h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Surrogate-Key", "product:1")
			w.Header().Set("Cache-Tag", "product:1")
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = w.Write([]byte("x"))
		}))
		for _, req := range []struct{ method, hdr string }{
			{"GET", "X-Forwarded-Host: evil.example"}, // unkeyed: bypass
			{"POST", "X-Any: 1"},                      // unsafe method
		} {
			w := do(t, h, req.method, "/p", req.hdr)
			got := w.Header().Get("Surrogate-Key") != "" || w.Header().Get("Cache-Tag") != ""
			if got != fwd {
				t.Errorf("ForwardSurrogateKey %v, %s %s: surrogate keys sent %v (%v)", fwd, req.method, req.hdr, got, w.Header())
			}
		}
	}
}
