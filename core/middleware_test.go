package core

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-cache/strata/headers"
)

func TestMissThenHit(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	o := newOrigin(publicHandler("public, max-age=60", "hello"))
	h := c.Middleware(o)

	w := do(t, h, "GET", "/a")
	wantStatus(t, w, 200)
	wantCacheStatus(t, w, "strata; fwd=uri-miss; ttl=60; stored")
	if body(w) != "hello" {
		t.Fatalf("body: got %q", body(w))
	}
	clk.Advance(10 * time.Second)
	w = do(t, h, "GET", "/a")
	wantStatus(t, w, 200)
	wantCacheStatus(t, w, "strata; hit; ttl=50")
	if got := w.Header().Get("Age"); got != "10" { // RFC 9111 §5.1
		t.Fatalf("Age: got %q, want %q", got, "10")
	}
	if got := w.Header().Get("Content-Length"); got != "5" {
		t.Fatalf("Content-Length: got %q", got)
	}
	if body(w) != "hello" {
		t.Fatalf("body: got %q", body(w))
	}
	wantRuns(t, o, 1)

	// Past its freshness (and with no stale window) the entry is not served.
	clk.Advance(51 * time.Second)
	w = do(t, h, "GET", "/a")
	if strings.Contains(w.Header().Get("Cache-Status"), "hit") {
		t.Fatalf("stale entry served as hit: %q", w.Header().Get("Cache-Status"))
	}
	wantRuns(t, o, 2)
}

func TestHeadServedFromGet(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	var methods []string
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		methods = append(methods, r.Method)
		publicHandler("max-age=60", "body!")(w, r)
	})
	h := c.Middleware(o)
	w := do(t, h, "HEAD", "/x")
	wantStatus(t, w, 200)
	if w.Body.Len() != 0 {
		t.Fatalf("HEAD got a body %q", w.Body.String())
	}
	w = do(t, h, "GET", "/x")
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	if body(w) != "body!" {
		t.Fatalf("GET after HEAD: body %q", body(w))
	}
	w = do(t, h, "HEAD", "/x")
	if w.Body.Len() != 0 || w.Header().Get("Content-Length") != "5" {
		t.Fatalf("HEAD hit: body %q, Content-Length %q", w.Body.String(), w.Header().Get("Content-Length"))
	}
	if !slices.Equal(methods, []string{"GET"}) {
		t.Fatalf("handler saw %v, want one GET (a HEAD miss fills the GET entry)", methods)
	}
}

func TestPrivateAndAuthorizationNeverStored(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, no-cache")
		_, _ = io.WriteString(w, "user="+r.Header.Get("Authorization"))
	})
	h := c.Middleware(o)
	for i := 0; i < 2; i++ {
		w := do(t, h, "GET", "/me", "Authorization: Bearer alice")
		wantStatus(t, w, 200)
		if body(w) != "user=Bearer alice" {
			t.Fatalf("body %q", body(w))
		}
	}
	wantRuns(t, o, 2)
	// A response to an authenticated request without public/s-maxage/must-revalidate (§3.5).
	o2 := newOrigin(publicHandler("max-age=60", "x"))
	h2 := c.Middleware(o2)
	do(t, h2, "GET", "/auth", "Authorization: Bearer a")
	w := do(t, h2, "GET", "/auth")
	if strings.Contains(w.Header().Get("Cache-Status"), "hit") {
		t.Fatal("response to an Authorization request was stored without permission")
	}
	wantRuns(t, o2, 2)
}

func TestReplayExactHeaders(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "max-age=60")
		h.Add("Link", "</a.css>; rel=preload")
		h.Add("Link", "</b.js>; rel=preload")
		h.Add("X-Multi", "one, two")
		h.Add("X-Multi", "three")
		h.Set("Content-Type", "application/json")
		h.Set("Etag", `"v1"`)
		w.WriteHeader(201)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	h := c.Middleware(o)
	first := do(t, h, "GET", "/h")
	second := do(t, h, "GET", "/h")
	wantCacheStatus(t, second, "strata; hit; ttl=60")
	if second.Code != 201 {
		t.Fatalf("status: got %d, want 201", second.Code)
	}
	for _, name := range []string{"Link", "X-Multi", "Content-Type", "Etag", "Cache-Control"} {
		if got, want := second.Header()[name], first.Header()[name]; !slices.Equal(got, want) {
			t.Fatalf("%s: got %q, want %q", name, got, want)
		}
	}
	if got := second.Header()["Link"]; len(got) != 2 {
		t.Fatalf("Link lines joined: %q", got)
	}
	if body(second) != `{"ok":true}` {
		t.Fatalf("body %q", body(second))
	}
}

func TestEmpty200And204RoundTrip(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	for _, tc := range []struct {
		path   string
		status int
	}{{"/empty", 200}, {"/nocontent", 204}} {
		o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.WriteHeader(tc.status)
		})
		h := c.Middleware(o)
		do(t, h, "GET", tc.path)
		w := do(t, h, "GET", tc.path)
		wantStatus(t, w, tc.status)
		wantCacheStatus(t, w, "strata; hit; ttl=60")
		if w.Body.Len() != 0 {
			t.Fatalf("%s: body %q", tc.path, w.Body.String())
		}
		if tc.status == 204 && w.Header().Get("Content-Length") != "" {
			t.Fatalf("204 carries Content-Length %q", w.Header().Get("Content-Length"))
		}
		wantRuns(t, o, 1)
	}
}

func TestHopByHopNotStored(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "max-age=60")
		h.Set("Connection", "X-Private-Hop")
		h.Set("X-Private-Hop", "1")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Authenticate", "Basic")
		h.Set("Upgrade", "h2c")
		h.Set("X-Kept", "yes")
		_, _ = io.WriteString(w, "x")
	})
	h := c.Middleware(o)
	do(t, h, "GET", "/hop")
	w := do(t, h, "GET", "/hop")
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	for _, name := range []string{"Connection", "X-Private-Hop", "Keep-Alive", "Proxy-Authenticate", "Upgrade"} {
		if v := w.Header().Get(name); v != "" { // RFC 9110 §7.6.1
			t.Fatalf("hop-by-hop %s replayed: %q", name, v)
		}
	}
	if w.Header().Get("X-Kept") != "yes" {
		t.Fatal("end-to-end field lost")
	}
}

func TestBodyOverLimitStreamsUnstored(t *testing.T) {
	c, _ := newTestCache(t, Config{MaxBodyBytes: 1024})
	big := strings.Repeat("z", 4096)
	o := newOrigin(publicHandler("max-age=60", big))
	h := c.Middleware(o)
	for i := 0; i < 2; i++ {
		w := do(t, h, "GET", "/big")
		wantStatus(t, w, 200)
		if body(w) != big {
			t.Fatalf("body truncated: %d bytes", len(body(w)))
		}
		if cs := w.Header().Get("Cache-Status"); !strings.Contains(cs, "detail=too-large") {
			t.Fatalf("Cache-Status %q", cs)
		}
		if w.Header().Get("Cache-Control") != "max-age=60" {
			t.Fatalf("handler header lost in streaming: %q", w.Header())
		}
	}
	wantRuns(t, o, 2)
}

func TestFlushStreamsUnstored(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 3; i++ {
			_, _ = io.WriteString(w, "data: tick\n\n")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("flush through the cache: %v", err)
			}
		}
	})
	h := c.Middleware(o)
	for i := 0; i < 2; i++ {
		w := do(t, h, "GET", "/sse")
		if !w.Flushed {
			t.Fatal("Flush did not reach the client")
		}
		if got := body(w); got != strings.Repeat("data: tick\n\n", 3) {
			t.Fatalf("body %q", got)
		}
	}
	wantRuns(t, o, 2)
}

func TestPanicNotStored(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	fail := true
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "partial")
		if fail {
			panic("boom")
		}
	})
	h := c.Middleware(o)
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("panic did not propagate unchanged: %v", p)
			}
		}()
		do(t, h, "GET", "/p")
	}()
	fail = false
	w := do(t, h, "GET", "/p")
	wantCacheStatus(t, w, "strata; fwd=uri-miss; ttl=60; stored")
	wantRuns(t, o, 2)
}

func TestClientGoneNotStored(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	first := true
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "half")
		if first {
			first = false
			cancel() // the client goes away mid-response
			<-r.Context().Done()
		}
	})
	h := c.Middleware(o)
	r := httptest.NewRequest("GET", "/gone", nil).WithContext(ctx)
	h.ServeHTTP(httptest.NewRecorder(), r)
	w := do(t, h, "GET", "/gone")
	if strings.Contains(w.Header().Get("Cache-Status"), "hit") {
		t.Fatal("a response cut short by the client was stored")
	}
	wantRuns(t, o, 2)
}

func TestHijackPassesThrough(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	srv := httptest.NewServer(c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nCache-Control: max-age=60\r\nConnection: close\r\n\r\nhi")
		_ = brw.Flush()
	})))
	defer srv.Close()
	for i := 0; i < 2; i++ {
		resp, err := http.Get(srv.URL + "/h")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if string(b) != "hi" || resp.Header.Get("Cache-Status") != "" {
			t.Fatalf("hijacked answer: %q %q", b, resp.Header.Get("Cache-Status"))
		}
	}
	_ = bufio.ErrBufferFull
}

func TestQueryNormalised(t *testing.T) {
	c, _ := newTestCache(t, Config{IgnoreQuery: []string{"utm_source"}})
	o := newOrigin(publicHandler("max-age=60", "q"))
	h := c.Middleware(o)
	do(t, h, "GET", "/q?b=2&a=1")
	w := do(t, h, "GET", "/q?a=1&b=2&utm_source=news")
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	do(t, h, "GET", "/q?a=1&b=3")
	wantRuns(t, o, 2)
}

func TestUnsafeMethodInvalidates(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "/other")
			w.WriteHeader(http.StatusCreated)
			return
		}
		publicHandler("max-age=60", r.URL.Path)(w, r)
	})
	h := c.Middleware(o)
	do(t, h, "GET", "/res")
	do(t, h, "GET", "/other")
	wantCacheStatus(t, do(t, h, "GET", "/res"), "strata; hit; ttl=60")
	w := do(t, h, "POST", "/res")
	wantStatus(t, w, 201)
	wantCacheStatus(t, w, "strata; fwd=method")
	// RFC 9111 §4.4: the target URI and the same-origin Location are invalidated.
	wantCacheStatus(t, do(t, h, "GET", "/res"), "strata; fwd=uri-miss; ttl=60; stored")
	wantCacheStatus(t, do(t, h, "GET", "/other"), "strata; fwd=uri-miss; ttl=60; stored")
	// A failed unsafe request invalidates nothing.
	o.h = func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(500)
			return
		}
		publicHandler("max-age=60", r.URL.Path)(w, r)
	}
	do(t, h, "POST", "/res")
	wantCacheStatus(t, do(t, h, "GET", "/res"), "strata; hit; ttl=60")
}

func TestClientNoCache(t *testing.T) {
	for _, honor := range []bool{false, true} {
		c, _ := newTestCache(t, Config{HonorRequestNoCache: honor})
		o := newOrigin(publicHandler("max-age=60", "x"))
		h := c.Middleware(o)
		do(t, h, "GET", "/n")
		w := do(t, h, "GET", "/n", "Cache-Control: no-cache")
		if honor {
			wantCacheStatus(t, w, "strata; fwd=request; ttl=60; stored")
			wantRuns(t, o, 2)
		} else {
			wantCacheStatus(t, w, "strata; hit; ttl=60")
			wantRuns(t, o, 1)
		}
	}
}

func TestOnlyIfCached(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	o := newOrigin(publicHandler("max-age=60", "x"))
	h := c.Middleware(o)
	w := do(t, h, "GET", "/oic", "Cache-Control: only-if-cached")
	wantStatus(t, w, http.StatusGatewayTimeout) // RFC 9111 §5.2.1.7
	wantRuns(t, o, 0)
}

func TestRoutePolicy(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "p") })
	pol := PolicyMiddleware(headers.Public(10 * time.Second).SMaxAge(time.Minute))
	h := c.Middleware(pol(o))
	w := do(t, h, "GET", "/pol")
	if got := w.Header().Get("Cache-Control"); got != "public, max-age=10, s-maxage=60" {
		t.Fatalf("Cache-Control: got %q", got)
	}
	wantCacheStatus(t, w, "strata; fwd=uri-miss; ttl=60; stored")
	w = do(t, h, "GET", "/pol")
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	if got := w.Header().Get("Cache-Control"); got != "public, max-age=10, s-maxage=60" {
		t.Fatalf("hit Cache-Control: got %q", got)
	}
	// The handler's own Cache-Control wins over the route policy.
	o2 := newOrigin(publicHandler("no-store", "own"))
	h2 := c.Middleware(pol(o2))
	do(t, h2, "GET", "/own")
	w = do(t, h2, "GET", "/own")
	if w.Header().Get("Cache-Control") != "no-store" || strings.Contains(w.Header().Get("Cache-Status"), "hit") {
		t.Fatalf("handler's no-store overridden: %q %q", w.Header().Get("Cache-Control"), w.Header().Get("Cache-Status"))
	}
	// Without the cache, the policy still sets the headers for the CDN and browser.
	w = do(t, pol(o), "GET", "/bare")
	if got := w.Header().Get("Cache-Control"); got != "public, max-age=10, s-maxage=60" {
		t.Fatalf("policy without cache: got %q", got)
	}
}

func TestOuterMiddlewareHeadersNotStored(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	n := 0
	outer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n++
			w.Header().Set("X-Request-Id", strings.Repeat("r", n))
			next.ServeHTTP(w, r)
		})
	}
	h := outer(c.Middleware(newOrigin(publicHandler("max-age=60", "x"))))
	do(t, h, "GET", "/rid")
	w := do(t, h, "GET", "/rid")
	if got := w.Header().Get("X-Request-Id"); got != "rr" {
		t.Fatalf("X-Request-Id: got %q, want the outer middleware's current value %q", got, "rr")
	}
}

func TestConditionalOnHit(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	o := newOrigin(publicHandler("max-age=60", "tagged"))
	h := c.Middleware(o)
	w := do(t, h, "GET", "/c")
	tag := w.Header().Get("Etag")
	if tag == "" {
		t.Fatal("no automatic ETag on a stored response")
	}
	for _, inm := range []string{tag, "W/" + tag, "*", `"nope", ` + tag} {
		w = do(t, h, "GET", "/c", "If-None-Match: "+inm)
		wantStatus(t, w, 304)
		if w.Body.Len() != 0 || w.Header().Get("Etag") != tag || w.Header().Get("Content-Type") != "" {
			t.Fatalf("304 for %q: body %q, header %v", inm, w.Body.String(), w.Header())
		}
	}
	wantStatus(t, do(t, h, "GET", "/c", `If-None-Match: "other"`), 200)
	wantStatus(t, do(t, h, "GET", "/c", `If-Match: "other"`), 412)
	wantRuns(t, o, 1)
}
