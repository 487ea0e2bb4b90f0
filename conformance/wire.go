package conformance

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/internal/redistest"
)

// RunWire runs what only a real connection shows, against mount behind real servers
// (httptest.Server): protocol upgrades, whose handler hijacks the connection, and trailers.
// Like [Run], first with an L1-only cache, then with a Redis L2, where each test runs two
// instances sharing it (two caches, two servers) and spreads its requests over them.
func RunWire(t *testing.T, mount Mount) {
	t.Helper()
	t.Run("l1", func(t *testing.T) { runWire(t, mount, nil) })
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		if srv == nil {
			return
		}
		runWire(t, mount, srv.Client(t))
	})
}

// upgradeLockWait is the LockWait of the wire tests' caches: an upgrade that waited for
// another request's fill (in-process or for the fleet lock) would take this long, and the
// tests want every upgrade well below it.
const upgradeLockWait = 3 * time.Second

func runWire(t *testing.T, mount Mount, client redis.UniversalClient) {
	t.Run("upgrade/concurrent", func(t *testing.T) {
		// Two upgrades to one URL at once (through each instance when there are two): both
		// switch protocols at once, neither waits for the other's connection to end.
		w := newWire(t, mount, client)
		var wg sync.WaitGroup
		conns := make([]*upgraded, 2)
		for i := range conns {
			wg.Go(func() { conns[i] = w.upgrade(t, i%len(w.srvs), "/ws") })
		}
		wg.Wait()
		for i, u := range conns {
			if u == nil {
				t.FailNow() // the upgrade reported why
			}
			u.wantSwitched(t, fmt.Sprintf("upgrade %d", i+1))
		}
		if t.Failed() {
			t.FailNow()
		}
		// Both connections are live, at the same time, each with its own handler.
		for i, u := range conns {
			u.echo(t, fmt.Sprintf("upgrade %d", i+1), fmt.Sprintf("hello %d", i+1))
		}
		if n := w.runs.Load(); n != 2 {
			t.Errorf("handler runs: got %d, want 2 (one per upgrade)", n)
		}
	})

	t.Run("upgrade/after-cached-get", func(t *testing.T) {
		// A plain GET of the URL is stored; an upgrade of the same URL still reaches the
		// handler and switches protocols, and the stored answer stays.
		w := newWire(t, mount, client)
		resp, body := w.get(t, 0, "/ws")
		if resp.StatusCode != http.StatusOK || body != "page" || !strings.Contains(resp.Header.Get("Cache-Status"), "stored") {
			t.Fatalf("plain GET: %d %q, Cache-Status %q; want 200 \"page\", stored", resp.StatusCode, body, resp.Header.Get("Cache-Status"))
		}
		last := len(w.srvs) - 1 // through the other instance when there are two
		resp, _ = w.get(t, last, "/ws")
		if !strings.HasPrefix(resp.Header.Get("Cache-Status"), "strata; hit") {
			t.Fatalf("second plain GET: Cache-Status %q, want a hit", resp.Header.Get("Cache-Status"))
		}
		for i := range w.srvs {
			u := w.upgrade(t, i, "/ws")
			if u == nil {
				t.FailNow()
			}
			if !u.wantSwitched(t, fmt.Sprintf("upgrade through instance %d", i+1)) {
				t.FailNow()
			}
			u.echo(t, "upgrade", "after a hit")
		}
		resp, body = w.get(t, last, "/ws")
		if !strings.HasPrefix(resp.Header.Get("Cache-Status"), "strata; hit") || body != "page" {
			t.Fatalf("plain GET after the upgrades: %q, Cache-Status %q; want the stored answer", body, resp.Header.Get("Cache-Status"))
		}
		if n := w.runs.Load(); n != 1+int64(len(w.srvs)) {
			t.Errorf("handler runs: got %d, want %d (the fill and one per upgrade)", n, 1+len(w.srvs))
		}
	})

	t.Run("trailers", func(t *testing.T) {
		// An answer with trailers reaches its client with them, and is never stored: the next
		// request is no hit without them.
		w := newWire(t, mount, client)
		for i := range 2 {
			resp, body := w.get(t, i%len(w.srvs), "/trailers")
			cs := resp.Header.Get("Cache-Status")
			if body != "body" || resp.Trailer.Get("X-Checksum") != "c1" {
				t.Fatalf("request %d: body %q, trailers %v (Cache-Status %q); want \"body\" and X-Checksum: c1", i+1, body, resp.Trailer, cs)
			}
			if want := "strata; fwd=uri-miss; fwd-status=200; detail=trailers"; cs != want {
				t.Fatalf("request %d: Cache-Status %q, want %q", i+1, cs, want)
			}
		}
		if n := w.trailerRuns.Load(); n != 2 {
			t.Errorf("handler runs: got %d, want 2 (nothing stored)", n)
		}
	})

	t.Run("early-hints", func(t *testing.T) {
		// A 103 reaches the client with the fields the handler set for it (RFC 8297), then the
		// final answer, which is stored without them; a hit sends no 1xx.
		w := newWire(t, mount, client)
		for i := range 2 {
			hints, resp, body := w.get1xx(t, i%len(w.srvs), "/hints")
			cs := resp.Header.Get("Cache-Status")
			if i == 0 {
				if len(hints) != 1 || hints[0].code != http.StatusEarlyHints || hints[0].h.Get("Link") != hintLink {
					t.Fatalf("request 1: 1xx answers %v, want one 103 with Link: %s (Cache-Status %q)", hints, hintLink, cs)
				}
			} else if len(hints) != 0 || !strings.HasPrefix(cs, "strata; hit") {
				t.Fatalf("request 2: 1xx answers %v, Cache-Status %q; want a hit and no 1xx", hints, cs)
			}
			if body != "final" || resp.Header.Get("Link") != "" {
				t.Fatalf("request %d: body %q, Link %q; want \"final\" without the 103's Link", i+1, body, resp.Header.Get("Link"))
			}
		}
	})

	t.Run("incomplete", func(t *testing.T) {
		// A body shorter than its declared Content-Length is incomplete (RFC 9111 §3.1): its
		// client sees it cut short, as without the cache, and it is not stored.
		w := newWire(t, mount, client)
		for i := range 2 {
			req, err := http.NewRequest(http.MethodGet, w.srvs[i%len(w.srvs)].URL+"/short", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = Host
			resp, err := w.srvs[i%len(w.srvs)].Client().Do(req)
			if err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
			b, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			cs := resp.Header.Get("Cache-Status")
			if err == nil || string(b) != "01234" || !strings.Contains(cs, "detail=incomplete") {
				t.Fatalf("request %d: body %q, read error %v, Cache-Status %q; want 5 of the 10 bytes announced, cut short, not stored", i+1, b, err, cs)
			}
		}
		if n := w.shortRuns.Load(); n != 2 {
			t.Errorf("handler runs: got %d, want 2 (nothing stored)", n)
		}
	})
}

// wire is one wire test: the cache instances (one, or two on a shared Redis), each mounted
// behind its own real server, in front of the test origin.
type wire struct {
	srvs        []*httptest.Server
	runs        atomic.Int64 // runs of /ws
	trailerRuns atomic.Int64
	shortRuns   atomic.Int64
	handlers    sync.WaitGroup // upgraded connections' handlers still running
}

var wireSeq atomic.Int64

func newWire(t *testing.T, mount Mount, client redis.UniversalClient) *wire {
	t.Helper()
	w := &wire{}
	routes := []Route{
		{Method: http.MethodGet, Path: "/ws", Handler: w.wsHandler},
		{Method: http.MethodGet, Path: "/trailers", Handler: w.trailerHandler},
		{Method: http.MethodGet, Path: "/hints", Handler: hintsHandler},
		{Method: http.MethodGet, Path: "/short", Handler: w.shortHandler},
	}
	n := 1
	cfg := core.Config{LockWait: upgradeLockWait, Logger: slog.New(slog.DiscardHandler)}
	if client != nil {
		n = 2
		cfg.Namespace = fmt.Sprintf("wire%d-%d", wireSeq.Add(1), time.Now().UnixNano())
		cfg.L2 = redisL2(t, client, cfg.Namespace)
	}
	for range n {
		cache, err := core.New(cfg)
		if err != nil {
			t.Fatalf("core.New: %v", err)
		}
		srv := httptest.NewServer(mount(t, cache, routes))
		w.srvs = append(w.srvs, srv)
		t.Cleanup(func() {
			srv.Close()
			_ = cache.Close()
		})
	}
	// Registered last, so it runs first: the upgraded connections' handlers end once their
	// clients have closed (the connections' own cleanups), before the servers close.
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() { w.handlers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("conformance: upgraded connections' handlers still running 10s after their clients left")
		}
	})
	return w
}

// wsHandler answers a plain GET with a stored page, and an upgrade by hijacking the
// connection, as WebSocket libraries do: it asserts http.Hijacker on its writer, writes
// 101 with the fields of its writer's header (which carry the cache's Cache-Status), then
// echoes lines until the client closes.
func (w *wire) wsHandler(rw http.ResponseWriter, r *http.Request) {
	w.runs.Add(1)
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		rw.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(rw, "page")
		return
	}
	hj, ok := rw.(http.Hijacker)
	if !ok {
		http.Error(rw, fmt.Sprintf("conformance: %T is not an http.Hijacker", rw), http.StatusInternalServerError)
		return
	}
	h := rw.Header()
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	conn, brw, err := hj.Hijack()
	if err != nil {
		http.Error(rw, "conformance: hijack: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.handlers.Add(1)
	defer w.handlers.Done()
	defer func() { _ = conn.Close() }()
	resp := &http.Response{StatusCode: http.StatusSwitchingProtocols, ProtoMajor: 1, ProtoMinor: 1, Header: h}
	if resp.Write(brw) != nil || brw.Flush() != nil {
		return
	}
	for {
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := brw.WriteString("echo: " + line); err != nil || brw.Flush() != nil {
			return
		}
	}
}

// trailerHandler declares a trailer and sets it after the body (net/http's documented way).
func (w *wire) trailerHandler(rw http.ResponseWriter, r *http.Request) {
	w.trailerRuns.Add(1)
	rw.Header().Set("Cache-Control", "max-age=60")
	rw.Header().Set("Trailer", "X-Checksum")
	_, _ = io.WriteString(rw, "body")
	rw.Header().Set("X-Checksum", "c1")
}

// shortHandler declares 10 bytes and writes 5.
func (w *wire) shortHandler(rw http.ResponseWriter, r *http.Request) {
	w.shortRuns.Add(1)
	rw.Header().Set("Cache-Control", "max-age=60")
	rw.Header().Set("Content-Length", "10")
	_, _ = io.WriteString(rw, "01234")
}

const hintLink = "</style.css>; rel=preload; as=style"

// hintsHandler sends a 103 Early Hints, then a stored answer without the hint's Link (the
// handler takes it off its map, as httputil.ReverseProxy does after relaying a 1xx).
func hintsHandler(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Link", hintLink)
	rw.WriteHeader(http.StatusEarlyHints)
	rw.Header().Del("Link")
	rw.Header().Set("Cache-Control", "max-age=60")
	_, _ = io.WriteString(rw, "final")
}

// interim is one 1xx answer a client saw.
type interim struct {
	code int
	h    textproto.MIMEHeader
}

// get1xx is get, also returning the 1xx answers read before the final one.
func (w *wire) get1xx(t *testing.T, i int, path string) ([]interim, *http.Response, string) {
	t.Helper()
	var mu sync.Mutex
	var got []interim
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, interim{code, h})
		return nil
	}}
	resp, body := w.getCtx(t, i, path, httptrace.WithClientTrace(context.Background(), trace))
	mu.Lock()
	defer mu.Unlock()
	return got, resp, body
}

// get sends a plain GET through instance i and reads the whole answer (trailers included).
func (w *wire) get(t *testing.T, i int, path string) (*http.Response, string) {
	t.Helper()
	return w.getCtx(t, i, path, context.Background())
}

func (w *wire) getCtx(t *testing.T, i int, path string, ctx context.Context) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.srvs[i].URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = Host
	resp, err := w.srvs[i].Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", path, err)
	}
	return resp, string(b)
}

// upgraded is the client side of one upgrade request.
type upgraded struct {
	resp *http.Response
	took time.Duration // from sending the request to reading the answer's header
	conn net.Conn
	br   *bufio.Reader
}

// upgrade sends a WebSocket-style upgrade request for path on a new connection to instance
// i, and reads the answer's header. The connection stays open until the test ends.
func (w *wire) upgrade(t *testing.T, i int, path string) *upgraded {
	t.Helper()
	conn, err := net.DialTimeout("tcp", w.srvs[i].Listener.Addr().String(), 5*time.Second)
	if err != nil {
		t.Errorf("dial: %v", err)
		return nil
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(2 * upgradeLockWait)) // never hang the suite
	req, _ := http.NewRequest(http.MethodGet, "http://"+Host+path, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	start := time.Now()
	if err := req.Write(conn); err != nil {
		t.Errorf("upgrade request: %v", err)
		return nil
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Errorf("upgrade answer: %v (after %v)", err, time.Since(start))
		return nil
	}
	return &upgraded{resp: resp, took: time.Since(start), conn: conn, br: br}
}

// wantSwitched checks that the upgrade switched protocols at once, passed by the cache, and
// reports whether it did.
func (u *upgraded) wantSwitched(t *testing.T, who string) bool {
	t.Helper()
	cs := u.resp.Header.Get("Cache-Status")
	switch want := "strata; fwd=bypass; detail=upgrade"; {
	case u.resp.StatusCode != http.StatusSwitchingProtocols:
		t.Errorf("%s: status %d (Cache-Status %q), want 101", who, u.resp.StatusCode, cs)
	case u.took >= time.Second:
		t.Errorf("%s: switched after %v, want at once (well under LockWait %v)", who, u.took, upgradeLockWait)
	case cs != want:
		t.Errorf("%s: Cache-Status %q, want %q", who, cs, want)
	default:
		return true
	}
	return false
}

// echo sends a line on the upgraded connection and wants it echoed.
func (u *upgraded) echo(t *testing.T, who, line string) {
	t.Helper()
	if _, err := io.WriteString(u.conn, line+"\n"); err != nil {
		t.Fatalf("%s: write on the upgraded connection: %v", who, err)
	}
	got, err := u.br.ReadString('\n')
	if err != nil || got != "echo: "+line+"\n" {
		t.Fatalf("%s: read on the upgraded connection: %q, %v; want the echo of %q", who, got, err, line)
	}
}
