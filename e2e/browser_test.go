package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// productMaxAge is the browser lifetime of the demo's products (ProductPolicy: max-age=10).
const productMaxAge = 10 * time.Second

// chromiumBinary finds Debian's chromium (or another Chromium-based browser on PATH).
func chromiumBinary(t *testing.T) string {
	t.Helper()
	bin, ok := findBinary([]string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"})
	if !ok {
		missing(t, "Chromium", "apt-get install chromium")
	}
	return bin
}

// newBrowser starts headless Chromium for the test and returns its root context. chromedp
// starts it with a new empty --user-data-dir, ends it by its PID when the test ends (with
// the children that used that directory), and removes the directory.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	bin := chromiumBinary(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Headless,
		// As root Chromium refuses to start with its sandbox; in containers it often cannot
		// set it up as a user either. It only loads the tests' loopback pages.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// Nothing but the tests' requests: no QUIC, no background fetches (component
		// updates, sync, field trials), which a closed network refuses anyway.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	begun := time.Now()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("e2e: start %s: %v", bin, err)
	}
	t.Logf("chromium started in %v", time.Since(begun).Round(time.Millisecond))
	return bctx
}

// netReq is what the browser's network events say about one request.
type netReq struct {
	url      string
	document bool // a navigation's main resource
	answered bool // Network.responseReceived seen
	status   int64
	fromDisk bool // answered from the browser's HTTP cache (responseReceived.fromDiskCache)
	// onWire is set when the request went out to the network (requestWillBeSentExtraInfo);
	// wireStatus and wire are the status and fields that came back over it (a revalidation's
	// 304, where responseReceived shows the cached 200). Zero and nil for a cache hit.
	onWire     bool
	sent       network.Headers
	wireStatus int64
	wire       network.Headers
	headers    network.Headers // responseReceived's (the cached answer's, on a 304)
}

// tab is one page in a browser context of its own (its own HTTP cache, as another
// browser's), recording its network events.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu    sync.Mutex
	reqs  map[network.RequestID]*netReq
	order []network.RequestID
}

// newTab opens a tab in a new browser context, with extra request fields when given (set
// with Network.setExtraHTTPHeaders, sent with every request of the tab).
func newTab(t *testing.T, browser context.Context, extra map[string]string) *tab {
	t.Helper()
	tb := &tab{t: t, reqs: map[network.RequestID]*netReq{}}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.on))
	t.Cleanup(cancel)
	tb.ctx = ctx
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("e2e: Network.enable: %v", err)
	}
	if len(extra) > 0 {
		h := network.Headers{}
		for k, v := range extra {
			h[k] = v
		}
		if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: h}); err != nil {
			t.Fatalf("e2e: Network.setExtraHTTPHeaders: %v", err)
		}
	}
	return tb
}

// on runs in the tab's event loop: it only records.
func (tb *tab) on(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	get := func(id network.RequestID) *netReq {
		r, ok := tb.reqs[id]
		if !ok {
			r = &netReq{}
			tb.reqs[id] = r
			tb.order = append(tb.order, id)
		}
		return r
	}
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		r := get(e.RequestID)
		r.url = e.Request.URL
		r.document = e.Type == network.ResourceTypeDocument
	case *network.EventRequestWillBeSentExtraInfo:
		r := get(e.RequestID)
		r.onWire, r.sent = true, e.Headers
	case *network.EventResponseReceived:
		r := get(e.RequestID)
		r.answered, r.status, r.fromDisk, r.headers = true, e.Response.Status, e.Response.FromDiskCache, e.Response.Headers
	case *network.EventResponseReceivedExtraInfo:
		r := get(e.RequestID)
		r.onWire, r.wireStatus, r.wire = true, e.StatusCode, e.Headers
	}
}

// visit is one navigation: the main resource's request and the page's text.
type visit struct {
	netReq
	text string
}

// field returns a header value from CDP's headers (names as received; case-insensitive).
func field(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// nav navigates the tab to u (through about:blank first, so that it is a new navigation and
// never a reload, which would revalidate) and returns what the browser did for it.
func (tb *tab) nav(u string) visit {
	t := tb.t
	t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("e2e: navigate about:blank: %v", err)
	}
	tb.mu.Lock()
	mark := len(tb.order)
	tb.mu.Unlock()
	if err := chromedp.Do(tb.ctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("e2e: navigate %s: %v", u, err)
	}
	var v visit
	deadline := time.Now().Add(5 * time.Second)
	for {
		found := false
		tb.mu.Lock()
		for _, id := range tb.order[mark:] {
			if r := tb.reqs[id]; r.document && r.url == u && r.answered {
				// A request that went out has its wire answer reported separately; wait for it.
				if !r.onWire || r.wireStatus != 0 {
					v.netReq, found = *r, true
				}
				break
			}
		}
		tb.mu.Unlock()
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("e2e: no complete network events for the navigation to %s", u)
		}
		time.Sleep(20 * time.Millisecond)
	}
	text, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		t.Fatalf("e2e: page text of %s: %v", u, err)
	}
	v.text = text
	return v
}

// fromBrowserCache asserts that v was answered by the browser's HTTP cache with nothing sent.
func fromBrowserCache(t *testing.T, what string, v visit) {
	t.Helper()
	if !v.fromDisk || v.onWire {
		t.Errorf("%s: fromDiskCache=%v, sent over the network=%v (status %d): want served by the browser cache alone",
			what, v.fromDisk, v.onWire, v.wireStatus)
	}
}

// revalidated asserts that the browser revalidated its copy of v with If-None-Match and got
// a 304, and returns the ETag it sent.
func revalidated(t *testing.T, what string, v visit) string {
	t.Helper()
	inm := field(v.sent, "If-None-Match")
	if !v.onWire || v.wireStatus != http.StatusNotModified || inm == "" {
		t.Errorf("%s: sent=%v If-None-Match %q, wire status %d: want a revalidation answered 304", what, v.onWire, inm, v.wireStatus)
	}
	if v.status != http.StatusOK {
		t.Errorf("%s: the page's status %d, want the cached 200", what, v.status)
	}
	return inm
}

// fetched asserts that v went over the network and was answered 200.
func fetched(t *testing.T, what string, v visit) {
	t.Helper()
	if !v.onWire || v.fromDisk || v.wireStatus != http.StatusOK {
		t.Errorf("%s: sent=%v fromDiskCache=%v wire status %d: want fetched over the network, 200", what, v.onWire, v.fromDisk, v.wireStatus)
	}
}

// waitPast sleeps until d after since, for the browser's copy to go stale.
func waitPast(t *testing.T, since time.Time, d time.Duration) {
	t.Helper()
	if w := time.Until(since.Add(d)); w > 0 {
		t.Logf("waiting %v for the browser's max-age to pass", w.Round(time.Millisecond))
		time.Sleep(w)
	}
}

// withinMaxAge fails the test when a step meant to happen within max-age came too late (a
// very slow machine), rather than asserting on the wrong thing.
func withinMaxAge(t *testing.T, since time.Time) {
	t.Helper()
	if el := time.Since(since); el > productMaxAge-2*time.Second {
		t.Fatalf("e2e: %v passed since the first visit; this step must run within max-age (%v)", el, productMaxAge)
	}
}

func cacheMember(t *testing.T, h network.Headers, name string) string {
	t.Helper()
	m, err := cacheStatus(field(h, "Cache-Status"), name)
	if err != nil {
		t.Errorf("Cache-Status %q has no %s member", field(h, "Cache-Status"), name)
	}
	return m
}

// TestBrowserCache drives Chromium against the demo (browser → tap → demo, no CDN).
func TestBrowserCache(t *testing.T) {
	t.Parallel()
	chromiumBinary(t) // skip (or fail) before starting anything
	s := newStack(t, false)
	browser := newBrowser(t)
	const p7 = "/products/7"
	u := s.front() + p7

	t.Run("a public page: browser cache within max-age, then a 304 from Strata", func(t *testing.T) {
		tb := newTab(t, browser, nil)
		first := tb.nav(u)
		since := time.Now()
		fetched(t, "first visit", first)
		if !strings.Contains(first.text, `"id":7`) {
			t.Fatalf("first visit: page %q", first.text)
		}
		if m := cacheMember(t, first.wire, "strata"); !strings.Contains(m, "stored") {
			t.Errorf("first visit: strata member %q, want stored", m)
		}

		second := tb.nav(u)
		withinMaxAge(t, since)
		fromBrowserCache(t, "second visit within max-age", second)
		if second.text != first.text {
			t.Errorf("second visit: page %q, want %q", second.text, first.text)
		}
		if n := len(s.tap.gets(p7)); n != 1 {
			t.Errorf("requests for %s that reached the server: %d, want 1", p7, n)
		}

		waitPast(t, since, productMaxAge+time.Second)
		third := tb.nav(u)
		etag := revalidated(t, "visit after max-age", third)
		if third.text != first.text {
			t.Errorf("visit after max-age: page %q, want the browser's copy %q", third.text, first.text)
		}
		hits := s.tap.gets(p7)
		if len(hits) != 2 {
			t.Fatalf("requests for %s that reached the server: %d, want 2", p7, len(hits))
		}
		// Strata answered the conditional request from its own entry (s-maxage=60): a 304,
		// and the handler did not run again.
		if h := hits[1]; h.IfNoneMatch != etag || h.Status != http.StatusNotModified || !strings.HasPrefix(h.CacheStatus, "strata; hit") {
			t.Errorf("the revalidation reached the server as %+v, want If-None-Match %s answered 304 by a Strata hit", h, etag)
		}
		if n := s.demo.origin(t)["/products/{id}"]; n != 1 {
			t.Errorf("/debug/origin /products/{id}: %d, want 1 (the handler ran once)", n)
		}
	})

	t.Run("a private page: cached by the browser only", func(t *testing.T) {
		tb := newTab(t, browser, map[string]string{"Authorization": "Bearer alice-token"})
		first := tb.nav(s.front() + "/me")
		fetched(t, "first visit of /me", first)
		if !strings.Contains(first.text, "alice") {
			t.Fatalf("first visit of /me: page %q", first.text)
		}
		if cc := field(first.wire, "Cache-Control"); cc != "private, no-cache" {
			t.Errorf("/me Cache-Control %q, want private, no-cache", cc)
		}
		if m := cacheMember(t, first.wire, "strata"); !strings.Contains(m, "detail=private") {
			t.Errorf("first visit of /me: strata member %q, want not stored (private)", m)
		}
		// private, no-cache: the browser keeps its copy but asks first; the server's 304
		// carries no body, so the page is the browser's stored copy.
		second := tb.nav(s.front() + "/me")
		etag := revalidated(t, "second visit of /me", second)
		if !strings.Contains(second.text, "alice") {
			t.Errorf("second visit of /me: page %q, want the browser's copy", second.text)
		}
		hits := s.tap.gets("/me")
		if len(hits) != 2 || hits[1].IfNoneMatch != etag || hits[1].Status != http.StatusNotModified || !hits[1].Auth {
			t.Fatalf("/me reached the server as %+v, want twice, the second a 304 to If-None-Match %s", hits, etag)
		}
		if n := s.demo.origin(t)["/me"]; n != 2 {
			t.Errorf("/debug/origin /me: %d, want 2 (Strata stores nothing private)", n)
		}
	})
}

// TestBrowserThroughVarnish runs every layer at once: Chromium (L4) → Varnish (L3) → tap →
// the demo, Strata (L1) in front of its handlers.
func TestBrowserThroughVarnish(t *testing.T) {
	t.Parallel()
	chromiumBinary(t) // skip (or fail) before starting anything
	s := newStack(t, true)
	browser := newBrowser(t)
	const p8 = "/products/8"
	u := s.front() + p8
	alice := newTab(t, browser, nil)
	bob := newTab(t, browser, nil) // another browser: its own cache

	first := alice.nav(u)
	since := time.Now()
	fetched(t, "alice's first visit", first)
	if m := cacheMember(t, first.wire, "strata"); !strings.HasPrefix(m, "fwd=uri-miss") || !strings.Contains(m, "stored") {
		t.Errorf("alice's first visit: strata member %q, want a miss, stored", m)
	}
	if m := cacheMember(t, first.wire, "varnish"); !strings.HasPrefix(m, "fwd=uri-miss") || !strings.Contains(m, "stored") {
		t.Errorf("alice's first visit: varnish member %q, want a miss, stored", m)
	}

	t.Run("L4: alice's second visit is her browser's", func(t *testing.T) {
		v := alice.nav(u)
		withinMaxAge(t, since)
		fromBrowserCache(t, "alice's second visit", v)
	})

	t.Run("L3: bob's first visit is Varnish's", func(t *testing.T) {
		v := bob.nav(u)
		withinMaxAge(t, since)
		fetched(t, "bob's first visit", v)
		if ids := strings.Fields(field(v.wire, "X-Varnish")); len(ids) != 2 {
			t.Errorf("bob's first visit: X-Varnish %q, want a Varnish hit", field(v.wire, "X-Varnish"))
		}
		if m := cacheMember(t, v.wire, "varnish"); !strings.HasPrefix(m, "hit") {
			t.Errorf("bob's first visit: varnish member %q, want a hit", m)
		}
		if v.text != first.text {
			t.Errorf("bob's page %q, want alice's %q", v.text, first.text)
		}
	})
	if n := len(s.tap.gets(p8)); n != 1 {
		t.Errorf("requests for %s that reached the server: %d, want 1", p8, n)
	}

	t.Run("after max-age: Varnish answers the revalidation (s-maxage=60)", func(t *testing.T) {
		waitPast(t, since, productMaxAge+time.Second)
		v := alice.nav(u)
		revalidated(t, "alice's visit after max-age", v)
		if m := cacheMember(t, v.wire, "varnish"); !strings.HasPrefix(m, "hit") {
			t.Errorf("the 304: varnish member %q, want a hit", m)
		}
		if n := len(s.tap.gets(p8)); n != 1 {
			t.Errorf("requests for %s that reached the server: %d, want 1 (the 304 was Varnish's)", p8, n)
		}
	})

	t.Run("a PUT purges Strata and Varnish; the browser gets the new version", func(t *testing.T) {
		put := call(t, "PUT", s.demo.URL+p8, `{"price": 3.5}`)
		if put.status != 200 {
			t.Fatalf("PUT %s: %d %q", p8, put.status, put.body)
		}
		// Alice's copy is stale (its Age is past max-age), so she asks again; Varnish and
		// Strata have dropped theirs, so the handler answers.
		v := alice.nav(u)
		fetched(t, "alice's visit after the PUT", v)
		if !strings.Contains(v.text, `"version":2`) {
			t.Errorf("alice's page after the PUT: %q, want version 2", v.text)
		}
		if m := cacheMember(t, v.wire, "varnish"); !strings.HasPrefix(m, "fwd=uri-miss") {
			t.Errorf("after the PUT: varnish member %q, want a miss", m)
		}
		if m := cacheMember(t, v.wire, "strata"); !strings.HasPrefix(m, "fwd=uri-miss") {
			t.Errorf("after the PUT: strata member %q, want a miss", m)
		}
		if n := len(s.tap.gets(p8)); n != 2 {
			t.Errorf("requests for %s that reached the server: %d, want 2", p8, n)
		}
		if n := s.demo.origin(t)["/products/{id}"]; n != 2 {
			t.Errorf("/debug/origin /products/{id}: %d, want 2", n)
		}
	})

	t.Run("a private page passes Varnish; only the browser keeps it", func(t *testing.T) {
		tb := newTab(t, browser, map[string]string{"Authorization": "Bearer alice-token"})
		for i := range 2 {
			v := tb.nav(s.front() + "/me")
			if i == 0 {
				fetched(t, "first visit of /me", v)
			} else {
				revalidated(t, "second visit of /me", v)
			}
			if !strings.Contains(v.text, "alice") {
				t.Errorf("visit %d of /me: page %q", i+1, v.text)
			}
			if ids := strings.Fields(field(v.wire, "X-Varnish")); len(ids) != 1 {
				t.Errorf("visit %d of /me: X-Varnish %q, want one id (passed)", i+1, field(v.wire, "X-Varnish"))
			}
			if m := cacheMember(t, v.wire, "varnish"); m != "fwd=bypass" {
				t.Errorf("visit %d of /me: varnish member %q, want fwd=bypass", i+1, m)
			}
		}
		hits := s.tap.gets("/me")
		if len(hits) != 2 || hits[1].Status != http.StatusNotModified {
			t.Errorf("/me reached the server as %+v, want twice, the second answered 304", hits)
		}
	})
}
