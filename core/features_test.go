package core

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-cache/strata/headers"
	"github.com/strata-cache/strata/negative"
)

func TestCoalescing1000(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	in := newArrivals(1000)
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		in.wait() // the leader answers once all 1000 are in the cache
		publicHandler("max-age=60", "hot")(w, r)
	})
	h := in.wrap(c.Middleware(o))
	var wg sync.WaitGroup
	lat := make([]time.Duration, 1000)
	var bad atomic.Int64
	for i := range lat {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			start := time.Now()
			w := do(t, h, "GET", "/hot")
			lat[i] = time.Since(start)
			if w.Code != 200 || body(w) != "hot" {
				bad.Add(1)
			}
		}(i)
	}
	wg.Wait()
	wantRuns(t, o, 1)
	if bad.Load() != 0 {
		t.Fatalf("%d requests got a wrong answer", bad.Load())
	}
	slices.Sort(lat)
	t.Logf("1000 concurrent cold requests: 1 handler run, wait p50 %v, p99 %v", lat[500], lat[990])
}

func TestCollapsedStatus(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	release := make(chan struct{})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		<-release
		publicHandler("max-age=60", "x")(w, r)
	})
	h := c.Middleware(o)
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- do(t, h, "GET", "/col") }()
	waitFor(time.Second, func() bool { return c.flights.inFlight(c.testKey("/col")) })
	go func() { done <- do(t, h, "GET", "/col") }()
	if _, ok := waitFor(5*time.Second, func() bool { return c.flights.waiting(c.testKey("/col")) == 1 }); !ok {
		t.Fatal("the second request did not join the fill")
	}
	close(release)
	a, b := <-done, <-done
	got := []string{a.Header().Get("Cache-Status"), b.Header().Get("Cache-Status")}
	sort.Strings(got)
	want := []string{"strata; fwd=uri-miss; ttl=60; collapsed", "strata; fwd=uri-miss; ttl=60; stored"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func (c *Cache) testKey(path string) string {
	return string(c.base(nil, keysFor(c, "example.com", path)))
}

// TestPrivatePerUser: 100 concurrent requests to a private route: every client gets its own
// body; the waiters run the handler themselves (hit-for-miss afterwards).
func TestPrivatePerUser(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	in := newArrivals(100)
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		in.wait() // the first run answers once all 100 are in the cache
		w.Header().Set("Cache-Control", "private, max-age=60")
		_, _ = io.WriteString(w, "user="+r.Header.Get("X-User"))
	})
	h := in.wrap(c.Middleware(o))
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			u := fmt.Sprint("u", i)
			w := do(t, h, "GET", "/account", "X-User: "+u)
			if body(w) != "user="+u {
				wrong.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if wrong.Load() != 0 {
		t.Fatalf("%d clients got another user's body", wrong.Load())
	}
	wantRuns(t, o, 100)
	if !c.hfm.has(c.testKey("/account"), c.now().UnixNano()) {
		t.Fatal("uncacheable key not remembered (hit-for-miss)")
	}
}

func TestVaryVariantsAndCap(t *testing.T) {
	c, _ := newTestCache(t, Config{MaxVariants: 16})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		_, _ = io.WriteString(w, "lang="+r.Header.Get("Accept-Language"))
	})
	h := c.Middleware(o)
	if b := body(do(t, h, "GET", "/v", "Accept-Language: en")); b != "lang=en" {
		t.Fatal(b)
	}
	if b := body(do(t, h, "GET", "/v", "Accept-Language: de")); b != "lang=de" {
		t.Fatal(b)
	}
	w := do(t, h, "GET", "/v", "Accept-Language: EN") // case-folded: same variant
	wantCacheStatus(t, w, "strata; hit; ttl=60")
	if body(w) != "lang=en" {
		t.Fatalf("variant mixed up: %q", body(w))
	}
	wantRuns(t, o, 2)
	for i := 0; i < 1000; i++ {
		lang := fmt.Sprintf("x-%d", i)
		if b := body(do(t, h, "GET", "/v", "Accept-Language: "+lang)); b != "lang="+lang {
			t.Fatalf("variant %d: got %q", i, b)
		}
	}
	raw, err := c.l1.Get(context.Background(), c.testKey("/v"))
	if err != nil {
		t.Fatal(err)
	}
	var v varyRecord
	if err := decodeVary(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.variants) != 16 {
		t.Fatalf("stored variants: got %d, want the cap 16", len(v.variants))
	}
	// A full record lets its oldest variant go for a new one: junk values never lock a real
	// one out, and the URL never holds more than the cap.
	if w := do(t, h, "GET", "/v", "Accept-Language: x-999"); !strings.Contains(w.Header().Get("Cache-Status"), "hit") {
		t.Fatalf("the newest variant is not stored: %q", w.Header().Get("Cache-Status"))
	}
	if w := do(t, h, "GET", "/v", "Accept-Language: x-0"); strings.Contains(w.Header().Get("Cache-Status"), "hit") {
		t.Fatal("the oldest variant outlived the cap")
	}
}

func TestSafeVariants(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = io.WriteString(w, "GZ")
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			w.Header().Set("Access-Control-Allow-Origin", o)
		}
		_, _ = io.WriteString(w, "plain")
	})
	h := c.Middleware(o)
	if b := body(do(t, h, "GET", "/enc", "Accept-Encoding: gzip")); b != "GZ" {
		t.Fatal(b)
	}
	w := do(t, h, "GET", "/enc")
	if body(w) != "plain" {
		t.Fatalf("client without gzip got the gzip variant: %q", body(w))
	}
	if w := do(t, h, "GET", "/enc", "Accept-Encoding: gzip;q=1, br"); body(w) != "GZ" {
		t.Fatalf("got %q", body(w))
	}
	// CORS: an answer for one origin never reaches another.
	do(t, h, "GET", "/cors", "Origin: https://a.example")
	w = do(t, h, "GET", "/cors", "Origin: https://b.example")
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "https://b.example" {
		t.Fatalf("ACAO for b: got %q", got)
	}
}

func TestSWRAndSIE(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	var n atomic.Int64
	var failing atomic.Bool
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(500)
			return
		}
		w.Header().Set("Cache-Control", "public, s-maxage=1, stale-while-revalidate=30, stale-if-error=60")
		_, _ = fmt.Fprintf(w, "v%d", n.Add(1))
	})
	h := c.Middleware(o)
	if b := body(do(t, h, "GET", "/clock")); b != "v1" {
		t.Fatal(b)
	}
	clk.Advance(3 * time.Second)
	w := do(t, h, "GET", "/clock")
	if body(w) != "v1" {
		t.Fatalf("SWR did not serve the stale body: %q", body(w))
	}
	wantCacheStatus(t, w, "strata; hit; ttl=-2; detail=stale-while-revalidate")
	// The refresh ran after the answer, on the same request.
	wantRuns(t, o, 2)
	w = do(t, h, "GET", "/clock")
	if body(w) != "v2" {
		t.Fatalf("refreshed value not served: %q (%q)", body(w), w.Header().Get("Cache-Status"))
	}
	// Past the SWR window but inside SIE, with the origin failing: stale served with 200.
	failing.Store(true)
	clk.Advance(40 * time.Second)
	w = do(t, h, "GET", "/clock")
	wantStatus(t, w, 200)
	if body(w) != "v2" {
		t.Fatalf("SIE body %q", body(w))
	}
	wantCacheStatus(t, w, "strata; fwd=stale; fwd-status=500; ttl=-39; detail=stale-if-error")
	// A panicking origin is an error too.
	o.h = func(w http.ResponseWriter, r *http.Request) { panic("down") }
	w = do(t, h, "GET", "/clock")
	if w.Code != 200 || body(w) != "v2" {
		t.Fatalf("SIE on panic: %d %q", w.Code, body(w))
	}
	// Past SIE: the error reaches the client.
	o.h = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }
	clk.Advance(2 * time.Minute)
	wantStatus(t, do(t, h, "GET", "/clock"), 500)
}

func TestMustRevalidateNeverStale(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	var fail atomic.Bool
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(503)
			return
		}
		publicHandler("max-age=1, must-revalidate, stale-if-error=60", "x")(w, r)
	})
	h := c.Middleware(o)
	do(t, h, "GET", "/mr")
	clk.Advance(5 * time.Second)
	fail.Store(true)
	wantStatus(t, do(t, h, "GET", "/mr"), 503) // RFC 9111 §5.2.2.2
}

// TestRevalidation304Refreshes: RFC 9111 §4.3.4 — a 304 to the cache's conditional request
// freshens the stored headers and freshness, keeping the body.
func TestRevalidation304Refreshes(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	var seen []string
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("If-None-Match"))
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Etag", `"e1"`)
		w.Header().Set("X-Gen", fmt.Sprint(len(seen)))
		if r.Header.Get("If-None-Match") == `"e1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = io.WriteString(w, "body-1")
	})
	h := c.Middleware(o)
	do(t, h, "GET", "/r")
	clk.Advance(20 * time.Second)
	w := do(t, h, "GET", "/r", `If-None-Match: "zzz"`)
	wantStatus(t, w, 200)
	if body(w) != "body-1" || w.Header().Get("X-Gen") != "2" {
		t.Fatalf("after 304: body %q X-Gen %q", body(w), w.Header().Get("X-Gen"))
	}
	wantCacheStatus(t, w, "strata; fwd=stale; fwd-status=304; ttl=10; stored")
	if !slices.Equal(seen, []string{"", `"e1"`}) {
		t.Fatalf("handler saw If-None-Match %q; want none, then the stored validator (client's dropped)", seen)
	}
	w = do(t, h, "GET", "/r")
	wantCacheStatus(t, w, "strata; hit; ttl=10")
	if w.Header().Get("X-Gen") != "2" {
		t.Fatal("refreshed header not stored")
	}
	// A 200 to the revalidation replaces the entry.
	clk.Advance(20 * time.Second)
	o.h = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		_, _ = io.WriteString(w, "body-2")
	}
	if b := body(do(t, h, "GET", "/r")); b != "body-2" {
		t.Fatal(b)
	}
	if b := body(do(t, h, "GET", "/r")); b != "body-2" {
		t.Fatal(b)
	}
}

func TestXFetchEarlyRefresh(t *testing.T) {
	// With rand fixed at e^-10 (ln = -10), delta 1s and beta 1, the refresh starts once
	// less than 10s of freshness remain.
	c, clk := newTestCache(t, Config{Beta: 1, Rand: func() float64 { return 4.5399929762484854e-05 }})
	var n atomic.Int64
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		clk.Advance(time.Second) // the origin takes 1s (recorded as the recompute time)
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = fmt.Fprintf(w, "v%d", n.Add(1))
	})
	h := c.Middleware(o)
	do(t, h, "GET", "/x")
	clk.Advance(40 * time.Second) // 20s left: no early refresh
	if b := body(do(t, h, "GET", "/x")); b != "v1" {
		t.Fatal(b)
	}
	wantRuns(t, o, 1)
	clk.Advance(15 * time.Second) // 5s left: refresh after answering
	if b := body(do(t, h, "GET", "/x")); b != "v1" {
		t.Fatalf("early refresh must still answer the current entry: %q", b)
	}
	wantRuns(t, o, 2)
	if b := body(do(t, h, "GET", "/x")); b != "v2" {
		t.Fatalf("refreshed entry not served: %q", b)
	}
}

func TestNegativeCaching(t *testing.T) {
	c, clk := newTestCache(t, Config{Negative: negative.Rules{AllRoutes: true}})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	h := c.Middleware(o)
	wantStatus(t, do(t, h, "GET", "/missing"), 404)
	w := do(t, h, "GET", "/missing")
	wantStatus(t, w, 404)
	wantCacheStatus(t, w, "strata; hit; ttl=10; detail=negative")
	wantRuns(t, o, 1)
	clk.Advance(11 * time.Second)
	wantStatus(t, do(t, h, "GET", "/missing"), 404)
	wantRuns(t, o, 2)
	// A route's negative TTL.
	h2 := c.Middleware(PolicyMiddleware(headers.Public(time.Minute).NegativeTTL(3 * time.Second))(o))
	do(t, h2, "GET", "/m2")
	wantCacheStatus(t, do(t, h2, "GET", "/m2"), "strata; hit; ttl=3; detail=negative")
	// A 5xx without explicit freshness is never kept.
	o5 := newOrigin(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	h5 := c.Middleware(o5)
	do(t, h5, "GET", "/e")
	do(t, h5, "GET", "/e")
	wantRuns(t, o5, 2)
}

func TestPurgeLocal(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Set("Surrogate-Key", "t1 "+r.URL.Path[1:])
		publicHandler("max-age=60", r.URL.Path)(w, r)
	})
	h := c.Middleware(o)
	do(t, h, "GET", "/a", "Accept-Language: en")
	do(t, h, "GET", "/a", "Accept-Language: fr")
	do(t, h, "GET", "/b")
	if w := do(t, h, "GET", "/b"); w.Header().Get("Surrogate-Key") != "" {
		t.Fatal("Surrogate-Key forwarded to the client by default")
	}
	n, err := c.Purge(context.Background(), "http://example.com/a")
	if err != nil || n != 2 {
		t.Fatalf("Purge: %d %v, want 2 variants", n, err)
	}
	if _, err := c.Purge(context.Background(), "/relative"); err == nil {
		t.Fatal("relative URL accepted")
	}
	wantCacheStatus(t, do(t, h, "GET", "/a", "Accept-Language: en"), "strata; fwd=uri-miss; ttl=60; stored")
	if n, _ := c.PurgeTags(context.Background(), "b"); n != 1 {
		t.Fatalf("PurgeTags: %d", n)
	}
	// The tag named the variant; the URL's Vary record stays, so this is a vary-miss.
	wantCacheStatus(t, do(t, h, "GET", "/b"), "strata; fwd=vary-miss; ttl=60; stored")
	if err := c.PurgeAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantCacheStatus(t, do(t, h, "GET", "/b"), "strata; fwd=uri-miss; ttl=60; stored")
}

func TestPurgeHandler(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	h := c.Middleware(newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Surrogate-Key", "product:1")
		publicHandler("max-age=60", "p")(w, r)
	}))
	do(t, h, "GET", "/products/1")
	ph := c.PurgeHandler("s3cret")
	wantStatus(t, do(t, ph, "POST", "/admin/purge?tag=product:1"), 401)
	wantStatus(t, do(t, ph, "POST", "/admin/purge?tag=product:1", "Authorization: Bearer wrong"), 403)
	wantCacheStatus(t, do(t, h, "GET", "/products/1"), "strata; hit; ttl=60")
	w := do(t, ph, "POST", "/admin/purge?tag=product:1", "Authorization: Bearer s3cret")
	wantStatus(t, w, 200)
	if !strings.Contains(body(w), `"purged":1`) {
		t.Fatalf("body %q", body(w))
	}
	wantCacheStatus(t, do(t, h, "GET", "/products/1"), "strata; fwd=uri-miss; ttl=60; stored")
	w = do(t, ph, "POST", "/admin/purge?url=/products/1", "Authorization: Bearer s3cret")
	if !strings.Contains(body(w), `"purged":1`) {
		t.Fatalf("url purge: %q", body(w))
	}
	wantStatus(t, do(t, ph, "GET", "/admin/purge?all=1", "Authorization: Bearer s3cret"), 405)

	// Purge-all says what it did: everything, uncounted (no key is scanned).
	do(t, h, "GET", "/products/1")
	wantCacheStatus(t, do(t, h, "GET", "/products/1"), "strata; hit; ttl=60")
	w = do(t, ph, "POST", "/admin/purge?all=0", "Authorization: Bearer s3cret")
	wantStatus(t, w, 400)
	wantCacheStatus(t, do(t, h, "GET", "/products/1"), "strata; hit; ttl=60")
	w = do(t, ph, "POST", "/admin/purge?all=1", "Authorization: Bearer s3cret")
	wantStatus(t, w, 200)
	if got := body(w); got != `{"purged":"all"}`+"\n" {
		t.Fatalf("purge all: %q", got)
	}
	wantCacheStatus(t, do(t, h, "GET", "/products/1"), "strata; fwd=uri-miss; ttl=60; stored")
}

// TestLeaderCancelledHandsOver: the leader's client leaves mid-fill; the waiters do not fail,
// one of them fills instead.
func TestLeaderCancelledHandsOver(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-r.Context().Done() // the first (leader) waits until its client leaves
			return
		}
		publicHandler("max-age=60", "ok")(w, r)
	})
	h := c.Middleware(o)
	leaderDone := make(chan struct{})
	go func() {
		defer close(leaderDone)
		r := httptest.NewRequest("GET", "/lc", nil).WithContext(ctx)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}()
	waitFor(time.Second, func() bool { return calls.Load() == 1 })
	var wg sync.WaitGroup
	bodies := make([]string, 10)
	for i := range bodies {
		wg.Add(1)
		go func(i int) { defer wg.Done(); bodies[i] = body(do(t, h, "GET", "/lc")) }(i)
	}
	if _, ok := waitFor(5*time.Second, func() bool { return c.flights.waiting(c.testKey("/lc")) == len(bodies) }); !ok {
		t.Fatal("the requests did not join the leader's fill")
	}
	cancel()
	wg.Wait()
	<-leaderDone
	for i, b := range bodies {
		if b != "ok" {
			t.Fatalf("waiter %d got %q", i, b)
		}
	}
	wantRuns(t, o, 2) // the cancelled leader, then one waiter that took over
}
