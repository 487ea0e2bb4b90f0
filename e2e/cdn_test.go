package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// product is the demo's product JSON.
type product struct {
	ID       int    `json:"id"`
	Category string `json:"category"`
	Version  int    `json:"version"`
}

func decodeProduct(t *testing.T, r reply) product {
	t.Helper()
	var p product
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatalf("e2e: product JSON: %v: %q", err, r.body)
	}
	return p
}

// member returns the Cache-Status member of name, failing the test when there is none.
func member(t *testing.T, r reply, name string) string {
	t.Helper()
	m, err := cacheStatus(r.h.Get("Cache-Status"), name)
	if err != nil {
		t.Fatalf("e2e: Cache-Status %q has no %s member", r.h.Get("Cache-Status"), name)
	}
	return m
}

// varnishHit asserts that Varnish answered r from an object it stored (X-Varnish names two
// transactions: this request and the backend fetch that stored the object; Cache-Status
// "varnish; hit").
func varnishHit(t *testing.T, what string, r reply) {
	t.Helper()
	if ids := xvarnish(r.h); len(ids) != 2 {
		t.Errorf("%s: X-Varnish %q, want two ids (a Varnish hit)", what, r.h.Get("X-Varnish"))
	}
	if m := member(t, r, "varnish"); !strings.HasPrefix(m, "hit") {
		t.Errorf("%s: Cache-Status varnish member %q, want a hit", what, m)
	}
}

// varnishFetched asserts that Varnish sent r's request on to the origin (X-Varnish names one
// request); stored says whether it then kept the answer.
func varnishFetched(t *testing.T, what string, r reply, stored bool) {
	t.Helper()
	if ids := xvarnish(r.h); len(ids) != 1 {
		t.Errorf("%s: X-Varnish %q, want one id (fetched from the origin)", what, r.h.Get("X-Varnish"))
	}
	m := member(t, r, "varnish")
	if strings.HasPrefix(m, "hit") {
		t.Errorf("%s: Cache-Status varnish member %q, want no hit", what, m)
	}
	if _, ok := param(m, "stored"); ok != stored {
		t.Errorf("%s: Cache-Status varnish member %q, stored=%v, want %v", what, m, ok, stored)
	}
}

// ttlOf returns the ttl parameter of a Cache-Status member.
func ttlOf(t *testing.T, what, m string) int {
	t.Helper()
	v, ok := param(m, "ttl")
	if !ok {
		t.Fatalf("%s: Cache-Status member %q has no ttl", what, m)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s: ttl %q: %v", what, v, err)
	}
	return n
}

// TestVarnishInFrontOfDemo runs Varnish (examples/cdn/default.vcl) in front of the demo
// (-forward-surrogate-key -cdn-purge): client → Varnish → tap → demo.
func TestVarnishInFrontOfDemo(t *testing.T) {
	s := newStack(t, true)
	front := s.front()
	const p1 = "/products/1"

	var first reply
	t.Run("public answers are cached at the CDN", func(t *testing.T) {
		first = call(t, "GET", front+p1, "")
		if first.status != 200 {
			t.Fatalf("GET %s: %d %s", p1, first.status, first.body)
		}
		varnishFetched(t, "first GET", first, true)
		if m := member(t, first, "strata"); !strings.HasPrefix(m, "fwd=uri-miss") {
			t.Errorf("first GET: strata member %q, want a miss", m)
		}
		second := call(t, "GET", front+p1, "")
		varnishHit(t, "second GET", second)
		if _, err := strconv.Atoi(second.h.Get("Age")); err != nil {
			t.Errorf("second GET: Age %q: %v", second.h.Get("Age"), err)
		}
		if second.body != first.body {
			t.Errorf("second GET: body %q, want %q", second.body, first.body)
		}
		if n := len(s.tap.gets(p1)); n != 1 {
			t.Errorf("requests for %s that reached the demo: %d, want 1 (the second was Varnish's)", p1, n)
		}
		if n := s.demo.origin(t)["/products/{id}"]; n != 1 {
			t.Errorf("/debug/origin /products/{id}: %d, want 1", n)
		}
	})

	t.Run("browsers get max-age, the CDN keeps s-maxage", func(t *testing.T) {
		// The demo's product policy: public, max-age=10 (browsers), s-maxage=60 (shared caches).
		cc := headers.ParseCacheControl(first.h.Values("Cache-Control"))
		if !cc.Public || cc.MaxAge.Seconds != 10 || cc.SMaxAge.Seconds != 60 {
			t.Fatalf("Cache-Control through Varnish %q: want public, max-age=10, s-maxage=60 (the demo's ProductPolicy)",
				first.h.Get("Cache-Control"))
		}
		// Varnish stored the object for s-maxage, not max-age.
		if ttl := ttlOf(t, "first GET", member(t, first, "varnish")); ttl < 50 || ttl > 60 {
			t.Errorf("Varnish's TTL for %s: %d s, want about 60 (s-maxage), not 10 (max-age)", p1, ttl)
		}
		// Tags travel to Varnish, never to the browser.
		hits := s.tap.gets(p1)
		if len(hits) == 0 || hits[0].SurrogateKey == "" {
			t.Errorf("the demo sent no Surrogate-Key to Varnish (-forward-surrogate-key): %+v", hits)
		}
		for _, f := range []string{"Surrogate-Key", "Xkey"} {
			if v := first.h.Get(f); v != "" {
				t.Errorf("the client got %s: %q; the VCL keeps tags to itself", f, v)
			}
		}
	})

	t.Run("private answers are never cached at the CDN", func(t *testing.T) {
		var etag string
		for i := range 2 {
			r := call(t, "GET", front+"/me", "", "Authorization: Bearer alice-token")
			if r.status != 200 || !strings.Contains(r.body, "alice") {
				t.Fatalf("GET /me #%d: %d %q", i+1, r.status, r.body)
			}
			varnishFetched(t, "GET /me", r, false)
			if m := member(t, r, "varnish"); m != "fwd=bypass" {
				t.Errorf("GET /me #%d: varnish member %q, want fwd=bypass (Authorization)", i+1, m)
			}
			if m := member(t, r, "strata"); !strings.Contains(m, "detail=private") {
				t.Errorf("GET /me #%d: strata member %q, want not stored: private", i+1, m)
			}
			etag = r.h.Get("Etag")
		}
		// The browser's revalidation: Strata answers the ETag with a 304 through Varnish.
		r := call(t, "GET", front+"/me", "", "Authorization: Bearer alice-token", "If-None-Match: "+etag)
		if r.status != http.StatusNotModified {
			t.Errorf("GET /me If-None-Match %s: %d, want 304", etag, r.status)
		}
		varnishFetched(t, "GET /me If-None-Match", r, false)
		hits := s.tap.gets("/me")
		if len(hits) != 3 {
			t.Fatalf("requests for /me that reached the demo: %d, want 3 (Varnish stores none)", len(hits))
		}
		if h := hits[2]; h.Status != http.StatusNotModified || h.IfNoneMatch != etag || !h.Auth {
			t.Errorf("the revalidation reached the demo as %+v, want If-None-Match %s answered 304", h, etag)
		}
	})

	t.Run("error answers without freshness are kept by Strata only", func(t *testing.T) {
		for i := range 2 {
			r := call(t, "GET", front+"/products/999", "")
			if r.status != 404 {
				t.Fatalf("GET /products/999: %d", r.status)
			}
			varnishFetched(t, "GET /products/999", r, false)
			if m := member(t, r, "strata"); i == 1 && !strings.Contains(m, "detail=negative") {
				t.Errorf("second GET /products/999: strata member %q, want a negative hit", m)
			}
		}
		if n := s.demo.origin(t)["/products/{id}"]; n != 2 {
			t.Errorf("/debug/origin /products/{id}: %d, want 2 (product 1 and one 404)", n)
		}
	})

	t.Run("PUT on the demo purges Strata and Varnish", func(t *testing.T) {
		p := decodeProduct(t, first)
		list := "/products?category=" + p.Category
		other := "/products/2"
		for _, u := range []string{list, other} {
			call(t, "GET", front+u, "")
			varnishHit(t, "GET "+u+" again", call(t, "GET", front+u, ""))
		}
		if o := decodeProduct(t, call(t, "GET", front+other, "")); o.Category == p.Category {
			t.Fatalf("products 1 and 2 share category %q; the test needs two", p.Category)
		}
		varnishHit(t, "GET "+p1+" before the PUT", call(t, "GET", front+p1, ""))

		put := call(t, "PUT", s.demo.URL+p1, `{"price": 12.5}`)
		if put.status != 200 || decodeProduct(t, put).Version != p.Version+1 {
			t.Fatalf("PUT %s: %d %q", p1, put.status, put.body)
		}

		r := call(t, "GET", front+p1, "")
		if got := decodeProduct(t, r).Version; got != p.Version+1 {
			t.Errorf("GET %s through Varnish after the PUT: version %d, want %d", p1, got, p.Version+1)
		}
		varnishFetched(t, "GET "+p1+" after the PUT", r, true)
		if m := member(t, r, "strata"); !strings.HasPrefix(m, "fwd=uri-miss") {
			t.Errorf("GET %s after the PUT: strata member %q, want a miss (purged in Strata too)", p1, m)
		}
		if n := len(s.tap.gets(p1)); n != 2 {
			t.Errorf("requests for %s that reached the demo: %d, want 2", p1, n)
		}
		// The category tag was purged too (vmod_xkey), and nothing else.
		varnishFetched(t, "GET "+list+" after the PUT", call(t, "GET", front+list, ""), true)
		varnishHit(t, "GET "+other+" after the PUT (another category)", call(t, "GET", front+other, ""))
	})

	t.Run("URL purge and purge-all reach Varnish", func(t *testing.T) {
		admin := "Authorization: Bearer " + adminToken
		for _, u := range []string{"/products/2", "/products/3"} {
			call(t, "GET", front+u, "")
			varnishHit(t, "GET "+u, call(t, "GET", front+u, ""))
		}
		// Cache.Purge → HTTPPurger: PURGE /products/2 with Host demo.
		if r := call(t, "POST", s.demo.URL+"/admin/purge?url=http://demo/products/2", "", admin); r.status != 200 {
			t.Fatalf("purge url: %d %q", r.status, r.body)
		}
		varnishFetched(t, "GET /products/2 after its URL purge", call(t, "GET", front+"/products/2", ""), true)
		varnishHit(t, "GET /products/3 after another URL's purge", call(t, "GET", front+"/products/3", ""))
		// Cache.PurgeAll → HTTPPurger: X-Purge-All: 1 → ban.
		if r := call(t, "POST", s.demo.URL+"/admin/purge?all=1", "", admin); r.status != 200 {
			t.Fatalf("purge all: %d %q", r.status, r.body)
		}
		for _, u := range []string{"/products/2", "/products/3"} {
			r := call(t, "GET", front+u, "")
			varnishFetched(t, "GET "+u+" after purge-all", r, true)
			if m := member(t, r, "strata"); !strings.HasPrefix(m, "fwd=uri-miss") {
				t.Errorf("GET %s after purge-all: strata member %q, want a miss", u, m)
			}
		}
	})
}

// TestVarnishVCLRules checks the VCL's storage rules against a Strata origin in this process
// (client → Varnish → Strata → handlers), one route per rule.
func TestVarnishVCLRules(t *testing.T) {
	varnishd := varnishBinary(t)
	cache, err := core.New(core.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cache.Close() })
	var mu sync.Mutex
	runs := map[string]int{}
	mux := http.NewServeMux()
	route := func(path string, p headers.Policy, set ...string) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			runs[path]++
			mu.Unlock()
			for _, kv := range set {
				k, v, _ := strings.Cut(kv, ":")
				w.Header().Set(k, strings.TrimSpace(v))
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("answer of " + path + "\n"))
		})
		if p.IsZero() {
			mux.Handle("GET "+path, h)
		} else {
			mux.Handle("GET "+path, core.PolicyMiddleware(p)(h))
		}
	}
	// RFC 9213: CDN-Cache-Control wins over Cache-Control at the CDN.
	route("/cdn-max-age", headers.Public(5*time.Second).CDNMaxAge(time.Minute))
	route("/cdn-no-store", headers.Public(0).SMaxAge(time.Minute), "CDN-Cache-Control: no-store")
	// Private answers and answers without explicit freshness are never stored by Varnish.
	route("/private", headers.Private().MaxAge(time.Minute))
	route("/no-freshness", headers.Policy{})
	origin := httptest.NewServer(cache.Middleware(mux))
	t.Cleanup(origin.Close)
	front := startVarnish(t, varnishd, strings.TrimPrefix(origin.URL, "http://")).URL

	ran := func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return runs[path]
	}

	t.Run("CDN-Cache-Control max-age wins over Cache-Control", func(t *testing.T) {
		r := call(t, "GET", front+"/cdn-max-age", "")
		if cc, cdn := r.h.Get("Cache-Control"), r.h.Get("CDN-Cache-Control"); cc != "public, max-age=5" || cdn != "public, max-age=60" {
			t.Fatalf("Cache-Control %q, CDN-Cache-Control %q: want public, max-age=5 and public, max-age=60", cc, cdn)
		}
		varnishFetched(t, "first GET", r, true)
		if ttl := ttlOf(t, "first GET", member(t, r, "varnish")); ttl < 50 || ttl > 60 {
			t.Errorf("Varnish's TTL: %d s, want about 60 (CDN-Cache-Control), not 5 (Cache-Control)", ttl)
		}
		varnishHit(t, "second GET", call(t, "GET", front+"/cdn-max-age", ""))
	})

	t.Run("CDN-Cache-Control no-store wins over s-maxage", func(t *testing.T) {
		for i := range 2 {
			r := call(t, "GET", front+"/cdn-no-store", "")
			varnishFetched(t, "GET /cdn-no-store", r, false)
			if m := member(t, r, "strata"); i == 1 && !strings.HasPrefix(m, "hit") {
				t.Errorf("second GET: strata member %q, want a hit (s-maxage=60 is Strata's)", m)
			}
		}
	})

	t.Run("private and no freshness are not stored", func(t *testing.T) {
		for _, path := range []string{"/private", "/no-freshness"} {
			for range 2 {
				varnishFetched(t, "GET "+path, call(t, "GET", front+path, ""), false)
			}
			if n := ran(path); n != 2 {
				t.Errorf("%s: handler ran %d times, want 2 (stored by no layer)", path, n)
			}
		}
	})
}
