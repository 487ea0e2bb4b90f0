package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-cache/strata/core"
)

// upstream is a real origin server that counts what reaches it.
type upstream struct {
	*httptest.Server
	mu     sync.Mutex
	hits   map[string]int // "METHOD path" → requests
	last   map[string]http.Header
	events chan struct{} // /events waits on it between its two events
	now    func() time.Time
}

func (u *upstream) count(key string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[key]
}

func (u *upstream) header(key string) http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last[key]
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{hits: map[string]int{}, last: map[string]http.Header{}, events: make(chan struct{}), now: time.Now}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		u.mu.Lock()
		u.hits[key]++
		u.last[key] = r.Header.Clone()
		u.last[key].Set("Host", r.Host)
		now := u.now
		u.mu.Unlock()
		h := w.Header()
		h.Set("Date", now().UTC().Format(http.TimeFormat)) // the upstream's clock is the test's
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		switch r.URL.Path {
		case "/max-age", "/revalidate":
			h.Set("Cache-Control", "max-age=60")
			if r.URL.Path == "/revalidate" {
				h.Set("Cache-Control", "max-age=10")
			}
			h.Set("Etag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = io.WriteString(w, "cacheable")
		case "/private":
			h.Set("Cache-Control", "private, max-age=60")
			_, _ = io.WriteString(w, "mine")
		case "/no-store":
			h.Set("Cache-Control", "no-store")
			_, _ = io.WriteString(w, "never")
		case "/cookie":
			h.Set("Cache-Control", "max-age=60")
			h.Set("Set-Cookie", "session=abc")
			_, _ = io.WriteString(w, "cookie")
		case "/chunked":
			// No Content-Length and flushes: ReverseProxy flushes every write to the client.
			h.Set("Cache-Control", "public, max-age=60")
			for range 8 {
				_, _ = io.WriteString(w, strings.Repeat("x", 1024))
				_ = http.NewResponseController(w).Flush()
			}
		case "/cdn-chunked":
			// Only the CDN may keep it (RFC 9213 §3.1), and it comes in chunks.
			h.Set("Cache-Control", "no-store")
			h.Set("CDN-Cache-Control", "max-age=60")
			for range 4 {
				_, _ = io.WriteString(w, strings.Repeat("y", 1024))
				_ = http.NewResponseController(w).Flush()
			}
		case "/events":
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "max-age=60")
			_, _ = io.WriteString(w, "data: one\n\n")
			_ = http.NewResponseController(w).Flush()
			select {
			case <-u.events:
			case <-r.Context().Done():
				return
			}
			_, _ = io.WriteString(w, "data: two\n\n")
		case "/behind-cdn":
			// The upstream is itself behind a cache that reports what it did (RFC 9211).
			h.Set("Cache-Control", "max-age=60")
			h.Set("Cache-Status", "upstream-cdn; hit; ttl=3000")
			_, _ = io.WriteString(w, "from the cdn")
		case "/private-behind-cdn":
			h.Set("Cache-Control", "private")
			h.Set("Cache-Status", "upstream-cdn; fwd=bypass")
			_, _ = io.WriteString(w, "mine")
		case "/host":
			h.Set("Cache-Control", "no-store")
			_, _ = io.WriteString(w, r.Host)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// startProxy runs NewProxy as a real server in front of up.
func startProxy(t *testing.T, up *upstream, o ProxyOptions) (*httptest.Server, *testClock) {
	t.Helper()
	clk := &testClock{t: time.Now()}
	up.mu.Lock()
	up.now = clk.Now
	up.mu.Unlock()
	cache, err := core.New(core.Config{Clock: clk.Now, Jitter: -1, Beta: -1, TargetedFields: o.TargetedFields})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cache.Close() })
	target, err := url.Parse(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewProxyWithOptions(target, cache, o))
	t.Cleanup(srv.Close)
	return srv, clk
}

func send(t *testing.T, method, target string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range hdr {
		k, v, _ := strings.Cut(kv, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func wantStatus(t *testing.T, resp *http.Response, cacheStatus string, parts ...string) {
	t.Helper()
	got := resp.Header.Get("Cache-Status")
	if !strings.HasPrefix(got, cacheStatus) {
		t.Fatalf("%s %s: Cache-Status %q, want prefix %q", resp.Request.Method, resp.Request.URL.Path, got, cacheStatus)
	}
	for _, p := range parts {
		if !strings.Contains(got, p) {
			t.Fatalf("%s %s: Cache-Status %q, want %q in it", resp.Request.Method, resp.Request.URL.Path, got, p)
		}
	}
}

func TestProxyMaxAgeHits(t *testing.T) {
	up := newUpstream(t)
	px, _ := startProxy(t, up, ProxyOptions{})

	resp, body := send(t, "GET", px.URL+"/max-age")
	wantStatus(t, resp, "strata; fwd=uri-miss", "stored")
	if resp.StatusCode != 200 || body != "cacheable" {
		t.Fatalf("first: %d %q", resp.StatusCode, body)
	}
	for range 3 {
		resp, body = send(t, "GET", px.URL+"/max-age")
		wantStatus(t, resp, "strata; hit; ttl=")
		if body != "cacheable" || resp.Header.Get("Age") == "" || resp.Header.Get("Etag") != `"v1"` {
			t.Fatalf("hit: %q, Age %q, ETag %q", body, resp.Header.Get("Age"), resp.Header.Get("Etag"))
		}
	}
	// HEAD is answered from the GET entry.
	resp, body = send(t, "HEAD", px.URL+"/max-age")
	wantStatus(t, resp, "strata; hit")
	if body != "" || resp.ContentLength != int64(len("cacheable")) {
		t.Fatalf("HEAD: body %q, length %d", body, resp.ContentLength)
	}
	if n := up.count("GET /max-age"); n != 1 {
		t.Fatalf("upstream saw %d GETs, want 1", n)
	}
	// A gateway sends Via (RFC 9110 §7.6.3); ReverseProxy adds X-Forwarded-For.
	h := up.header("GET /max-age")
	if h.Get("Via") != "1.1 strata" || h.Get("X-Forwarded-For") == "" {
		t.Fatalf("upstream request header %v", h)
	}
}

func TestProxyDoesNotStorePrivate(t *testing.T) {
	up := newUpstream(t)
	px, _ := startProxy(t, up, ProxyOptions{})
	for path, detail := range map[string]string{"/private": "private", "/no-store": "no-store", "/cookie": "set-cookie"} {
		for range 2 {
			resp, _ := send(t, "GET", px.URL+path)
			wantStatus(t, resp, "strata; fwd=uri-miss; fwd-status=200", "detail="+detail)
			if strings.Contains(resp.Header.Get("Cache-Status"), "stored") {
				t.Fatalf("%s stored", path)
			}
		}
		if n := up.count("GET " + path); n != 2 {
			t.Fatalf("%s: upstream saw %d GETs, want 2 (nothing stored)", path, n)
		}
	}
	// The cookie still reaches its client.
	resp, _ := send(t, "GET", px.URL+"/cookie")
	if resp.Header.Get("Set-Cookie") != "session=abc" {
		t.Fatalf("Set-Cookie lost: %v", resp.Header)
	}
}

// The upstream's Cache-Status members reach the client first, with the proxy's member
// appended (RFC 9211 §2: from the origin side to the client side), on the fill, on hits
// and 304s replayed from the entry, and on answers the proxy does not store.
func TestProxyKeepsUpstreamCacheStatus(t *testing.T) {
	up := newUpstream(t)
	px, _ := startProxy(t, up, ProxyOptions{})
	// lines checks the Cache-Status lines; the last (the proxy's) by prefix, since its ttl
	// depends on the upstream's Date, which has whole seconds only.
	lines := func(resp *http.Response, want ...string) {
		t.Helper()
		got := resp.Header.Values("Cache-Status")
		n := len(want) - 1
		if len(got) != len(want) || !slices.Equal(got[:n], want[:n]) || !strings.HasPrefix(got[n], want[n]) {
			t.Fatalf("%s %s: Cache-Status lines %q, want %q (the last as a prefix)", resp.Request.Method, resp.Request.URL.Path, got, want)
		}
	}
	const cdn = "upstream-cdn; hit; ttl=3000"
	resp, body := send(t, "GET", px.URL+"/behind-cdn")
	lines(resp, cdn, "strata; fwd=uri-miss; ttl=")
	if !strings.HasSuffix(resp.Header.Values("Cache-Status")[1], "; stored") {
		t.Fatalf("not stored: %q", resp.Header.Values("Cache-Status"))
	}
	tag := resp.Header.Get("Etag")
	resp, body2 := send(t, "GET", px.URL+"/behind-cdn")
	lines(resp, cdn, "strata; hit; ttl=")
	if body != "from the cdn" || body2 != body || tag == "" {
		t.Fatalf("bodies %q %q, ETag %q", body, body2, tag)
	}
	resp, _ = send(t, "GET", px.URL+"/behind-cdn", "If-None-Match: "+tag)
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional hit: %d", resp.StatusCode)
	}
	lines(resp, cdn, "strata; hit; ttl=")
	resp, _ = send(t, "HEAD", px.URL+"/behind-cdn")
	lines(resp, cdn, "strata; hit; ttl=")
	if n := up.count("GET /behind-cdn"); n != 1 {
		t.Fatalf("upstream saw %d GETs, want 1", n)
	}
	resp, _ = send(t, "GET", px.URL+"/private-behind-cdn")
	lines(resp, "upstream-cdn; fwd=bypass", "strata; fwd=uri-miss; fwd-status=200; detail=private")
}

func TestProxyConditional(t *testing.T) {
	up := newUpstream(t)
	px, _ := startProxy(t, up, ProxyOptions{})
	// On a miss: the client's If-None-Match is not sent upstream (the cache fills with a
	// full response), and the client still gets its 304.
	resp, body := send(t, "GET", px.URL+"/max-age", `If-None-Match: "v1"`)
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Fatalf("conditional miss: %d %q", resp.StatusCode, body)
	}
	wantStatus(t, resp, "strata; fwd=uri-miss", "stored")
	if up.header("GET /max-age").Get("If-None-Match") != "" {
		t.Fatal("the client's If-None-Match reached the upstream on a fill")
	}
	// On a hit: 304 from the cache.
	resp, body = send(t, "GET", px.URL+"/max-age", `If-None-Match: "v1"`)
	if resp.StatusCode != http.StatusNotModified || body != "" || resp.Header.Get("Etag") != `"v1"` {
		t.Fatalf("conditional hit: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	wantStatus(t, resp, "strata; hit")
	resp, body = send(t, "GET", px.URL+"/max-age", `If-None-Match: "v0"`)
	if resp.StatusCode != 200 || body != "cacheable" {
		t.Fatalf("non-matching If-None-Match: %d %q", resp.StatusCode, body)
	}
	if n := up.count("GET /max-age"); n != 1 {
		t.Fatalf("upstream saw %d GETs, want 1", n)
	}
}

func TestProxyRevalidatesWithUpstream(t *testing.T) {
	up := newUpstream(t)
	px, clk := startProxy(t, up, ProxyOptions{})
	resp, _ := send(t, "GET", px.URL+"/revalidate")
	wantStatus(t, resp, "strata; fwd=uri-miss", "stored")
	clk.Advance(11 * time.Second) // stale, no stale-while-revalidate: revalidate in the foreground
	resp, body := send(t, "GET", px.URL+"/revalidate")
	wantStatus(t, resp, "strata; fwd=stale; fwd-status=304", "stored")
	if resp.StatusCode != 200 || body != "cacheable" {
		t.Fatalf("revalidated: %d %q", resp.StatusCode, body)
	}
	if got := up.header("GET /revalidate").Get("If-None-Match"); got != `"v1"` {
		t.Fatalf("revalidation If-None-Match: got %q, want the stored validator", got)
	}
	resp, _ = send(t, "GET", px.URL+"/revalidate")
	wantStatus(t, resp, "strata; hit")
	if n := up.count("GET /revalidate"); n != 2 {
		t.Fatalf("upstream saw %d GETs, want 2", n)
	}
}

func TestProxyUnsafeInvalidates(t *testing.T) {
	up := newUpstream(t)
	px, _ := startProxy(t, up, ProxyOptions{})
	send(t, "GET", px.URL+"/max-age")
	resp, _ := send(t, "GET", px.URL+"/max-age")
	wantStatus(t, resp, "strata; hit")

	resp, _ = send(t, "POST", px.URL+"/max-age")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	wantStatus(t, resp, "strata; fwd=method")
	if up.count("POST /max-age") != 1 {
		t.Fatal("POST did not reach the upstream")
	}
	resp, _ = send(t, "GET", px.URL+"/max-age")
	wantStatus(t, resp, "strata; fwd=uri-miss", "stored")
	if n := up.count("GET /max-age"); n != 2 {
		t.Fatalf("upstream saw %d GETs, want 2 (the POST invalidated the entry)", n)
	}
}

func TestProxyChunkedIsStored(t *testing.T) {
	up := newUpstream(t)
	px, _ := startProxy(t, up, ProxyOptions{})
	resp, body := send(t, "GET", px.URL+"/chunked")
	wantStatus(t, resp, "strata; fwd=uri-miss", "stored")
	if len(body) != 8*1024 {
		t.Fatalf("body: %d bytes", len(body))
	}
	resp, body = send(t, "GET", px.URL+"/chunked")
	wantStatus(t, resp, "strata; hit")
	if len(body) != 8*1024 || resp.ContentLength != 8*1024 {
		t.Fatalf("hit: %d bytes, Content-Length %d", len(body), resp.ContentLength)
	}
	if n := up.count("GET /chunked"); n != 1 {
		t.Fatalf("upstream saw %d GETs, want 1", n)
	}
}

// With CDN-Cache-Control obeyed, a chunked answer it lets the cache keep is buffered and
// stored although its Cache-Control says no-store, which still reaches the client; without
// it, the answer streams through.
func TestProxyTargetedField(t *testing.T) {
	up := newUpstream(t)
	px, _ := startProxy(t, up, ProxyOptions{TargetedFields: []string{"CDN-Cache-Control"}})
	resp, _ := send(t, "GET", px.URL+"/cdn-chunked")
	wantStatus(t, resp, "strata; fwd=uri-miss", "stored")
	resp, body := send(t, "GET", px.URL+"/cdn-chunked")
	wantStatus(t, resp, "strata; hit")
	if len(body) != 4*1024 || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Cdn-Cache-Control") != "max-age=60" {
		t.Fatalf("hit: %d bytes, %v", len(body), resp.Header)
	}

	up = newUpstream(t)
	px, _ = startProxy(t, up, ProxyOptions{})
	for range 2 {
		resp, _ = send(t, "GET", px.URL+"/cdn-chunked")
		wantStatus(t, resp, "strata; fwd=uri-miss")
	}
	if n := up.count("GET /cdn-chunked"); n != 2 {
		t.Fatalf("upstream saw %d GETs, want 2", n)
	}
}

func TestProxyEventStreamStreams(t *testing.T) {
	up := newUpstream(t)
	px, _ := startProxy(t, up, ProxyOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", px.URL+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	br := bufio.NewReader(resp.Body)
	// The first event arrives while the upstream is still holding the response open.
	line, err := br.ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first event: %q, %v", line, err)
	}
	close(up.events)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: two\n\n" {
		t.Fatalf("rest: %q", rest)
	}
	wantStatus(t, resp, "strata; fwd=uri-miss", "detail=streamed")
}

func TestProxyHost(t *testing.T) {
	up := newUpstream(t)
	target, _ := url.Parse(up.URL)
	for _, preserve := range []bool{false, true} {
		px, _ := startProxy(t, up, ProxyOptions{PreserveHost: preserve})
		pu, _ := url.Parse(px.URL)
		_, body := send(t, "GET", px.URL+"/host")
		want := target.Host
		if preserve {
			want = pu.Host
		}
		if body != want {
			t.Fatalf("PreserveHost %v: upstream saw Host %q, want %q", preserve, body, want)
		}
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	up := newUpstream(t)
	target, _ := url.Parse(up.URL)
	up.Close()
	cache, err := core.New(core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cache.Close() }()
	px := httptest.NewServer(NewProxyWithOptions(target, cache, ProxyOptions{ErrorLog: discardLog()}))
	defer px.Close()
	resp, _ := send(t, "GET", px.URL+"/max-age")
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
	wantStatus(t, resp, "strata; fwd=uri-miss; fwd-status=502")
}

// An upstream that goes away: with core.Config.StaleIfError, the stale entry answers
// instead of the proxy's 502 (RFC 9111 §4.2.4).
func TestProxyUpstreamDownServesStale(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=1")
		_, _ = io.WriteString(w, "kept")
	}))
	target, _ := url.Parse(up.URL)
	clk := &testClock{t: time.Now()}
	cache, err := core.New(core.Config{Clock: clk.Now, Jitter: -1, Beta: -1, StaleIfError: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cache.Close() }()
	px := httptest.NewServer(NewProxyWithOptions(target, cache, ProxyOptions{ErrorLog: discardLog()}))
	defer px.Close()
	send(t, "GET", px.URL+"/a")
	up.Close()
	clk.Advance(10 * time.Second)
	resp, body := send(t, "GET", px.URL+"/a")
	if resp.StatusCode != http.StatusOK || body != "kept" {
		t.Fatalf("upstream down: %d %q", resp.StatusCode, body)
	}
	wantStatus(t, resp, "strata; fwd=stale; fwd-status=502", "detail=stale-if-error")
}

// TestRun runs the command itself: flags, the proxy listener and the metrics listener.
func TestRun(t *testing.T) {
	up := newUpstream(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-metrics", "127.0.0.1:0", "-upstream", up.URL, "-redis", ""}, pw, io.Discard)
		_ = pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var proxyURL, metricsURL string
	for proxyURL == "" && sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "metrics on "); ok {
			metricsURL = rest
		}
		if rest, ok := strings.CutPrefix(line, "strata proxy on "); ok {
			proxyURL, _, _ = strings.Cut(rest, " ")
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if proxyURL == "" || metricsURL == "" {
		t.Fatalf("no addresses printed (proxy %q, metrics %q)", proxyURL, metricsURL)
	}
	send(t, "GET", proxyURL+"/max-age")
	resp, _ := send(t, "GET", proxyURL+"/max-age")
	wantStatus(t, resp, "strata; hit")
	// The upstream's own /metrics path is not shadowed.
	resp, _ = send(t, "GET", proxyURL+"/metrics")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("proxy /metrics: %d, want the upstream's 404", resp.StatusCode)
	}
	_, text := send(t, "GET", metricsURL)
	for _, want := range []string{
		`strata_requests_total{result="hit",route="unknown"} 1`,
		`strata_requests_total{result="miss",route="unknown"} 2`,
		`strata_stores_total{route="unknown"} 1`, // /max-age; the upstream's 404 has no freshness and no policy route
		`strata_l1_entries `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-upstream is required"},
		{[]string{"-upstream", "127.0.0.1:8080"}, "want an http:// or https:// URL"},
		{[]string{"-upstream", "ftp://x"}, "want an http:// or https:// URL"},
		{[]string{"-upstream", "http://x", "extra"}, "unexpected arguments"},
		{[]string{"-nope"}, "flag provided but not defined"},
		{[]string{"-upstream", "http://x", "-heuristic", "2"}, "want a fraction between 0 and 1"},
		{[]string{"-upstream", "http://x", "-stale-if-error", "-1s"}, "must not be negative"},
	} {
		_, _, err := parseFlags(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.args, err, tc.want)
		}
	}
	c, u, err := parseFlags([]string{"-upstream", "https://api.example.com/base"}, io.Discard)
	if err != nil || u.Host != "api.example.com" || c.listen != "127.0.0.1:8081" || c.metrics != "" || c.heuristic != 0.1 ||
		len(c.targeted) != 1 || c.targeted[0] != "CDN-Cache-Control" || c.staleIfError != 10*time.Minute {
		t.Fatalf("defaults: %+v %v %v", c, u, err)
	}
	c, _, _ = parseFlags([]string{"-upstream", "http://x", "-targeted", ""}, io.Discard)
	if len(c.targeted) != 0 {
		t.Fatalf("-targeted '': %q", c.targeted)
	}
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// wsUpstream is an origin that takes WebSocket-style upgrades on /ws (it hijacks, answers
// 101 and echoes lines until the connection closes) and answers a plain GET of /ws with a
// cacheable page. It counts both.
type wsUpstream struct {
	*httptest.Server
	mu       sync.Mutex
	hits     map[string]int // "upgrade" or "get" → requests
	handlers sync.WaitGroup // upgraded connections still open
}

func (u *wsUpstream) count(kind string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[kind]
}

func newWSUpstream(t *testing.T) *wsUpstream {
	t.Helper()
	u := &wsUpstream{hits: map[string]int{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "get"
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			kind = "upgrade"
		}
		u.mu.Lock()
		u.hits[kind]++
		u.mu.Unlock()
		if kind == "get" {
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = io.WriteString(w, "page")
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		u.handlers.Add(1)
		defer u.handlers.Done()
		defer func() { _ = conn.Close() }()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		if brw.Flush() != nil {
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
	}))
	t.Cleanup(u.Close)
	return u
}

// proxyUpgrade sends an upgrade request for /ws to the proxy on a new connection and reads
// the answer's header; the connection stays open until the test ends. It may run on a
// goroutine of its own: it reports failures as errors.
func proxyUpgrade(t *testing.T, px *httptest.Server) (*http.Response, time.Duration, net.Conn, *bufio.Reader, error) {
	conn, err := net.DialTimeout("tcp", px.Listener.Addr().String(), 5*time.Second)
	if err != nil {
		return nil, 0, nil, nil, err
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req, _ := http.NewRequest("GET", px.URL+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	start := time.Now()
	if err := req.Write(conn); err != nil {
		return nil, 0, nil, nil, err
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, 0, nil, nil, fmt.Errorf("upgrade answer: %w", err)
	}
	return resp, time.Since(start), conn, br, nil
}

func wantSwitched(t *testing.T, who string, resp *http.Response, took time.Duration, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("%s: status %d (Cache-Status %q), want 101", who, resp.StatusCode, resp.Header.Get("Cache-Status"))
	}
	if took >= time.Second {
		t.Fatalf("%s: switched after %v, want at once (LockWait is 3s)", who, took)
	}
	wantStatus(t, resp, "strata; fwd=bypass; detail=upgrade")
	if _, err := io.WriteString(conn, who+"\n"); err != nil {
		t.Fatalf("%s: write: %v", who, err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "echo: "+who+"\n" {
		t.Fatalf("%s: echo through the proxy: %q, %v", who, line, err)
	}
}

// TestProxyUpgrade: WebSocket upgrades go through the proxy to the upstream without the
// cache's lookup, coalescing or lock: two at once both switch at once, and an upgrade of a
// URL whose plain GET is stored still switches.
func TestProxyUpgrade(t *testing.T) {
	up := newWSUpstream(t)
	target, _ := url.Parse(up.URL)
	cache, err := core.New(core.Config{LockWait: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cache.Close() })
	px := httptest.NewServer(NewProxyWithOptions(target, cache, ProxyOptions{ErrorLog: discardLog()}))
	t.Cleanup(px.Close)
	t.Cleanup(func() { // runs first: the clients' connections (closed before) end the upstream's handlers
		done := make(chan struct{})
		go func() { up.handlers.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("upstream handlers still running after their clients left")
		}
	})

	type result struct {
		resp *http.Response
		took time.Duration
		conn net.Conn
		br   *bufio.Reader
		err  error
	}
	var wg sync.WaitGroup
	res := make([]result, 2)
	for i := range res {
		wg.Go(func() {
			resp, took, conn, br, err := proxyUpgrade(t, px)
			res[i] = result{resp, took, conn, br, err}
		})
	}
	wg.Wait()
	for i, r := range res {
		if r.err != nil {
			t.Fatalf("upgrade %d: %v", i+1, r.err)
		}
		wantSwitched(t, fmt.Sprintf("upgrade %d", i+1), r.resp, r.took, r.conn, r.br)
	}

	resp, _ := send(t, "GET", px.URL+"/ws")
	wantStatus(t, resp, "strata; fwd=uri-miss", "stored")
	resp, body := send(t, "GET", px.URL+"/ws")
	wantStatus(t, resp, "strata; hit")
	if body != "page" {
		t.Fatalf("hit: %q", body)
	}
	r, took, conn, br, err := proxyUpgrade(t, px)
	if err != nil {
		t.Fatal(err)
	}
	wantSwitched(t, "upgrade after a hit", r, took, conn, br)
	if n, g := up.count("upgrade"), up.count("get"); n != 3 || g != 1 {
		t.Fatalf("upstream saw %d upgrades and %d GETs, want 3 and 1", n, g)
	}
}
