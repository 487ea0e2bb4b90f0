package core

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// tenantSegments is the KeySegments of the tests: the X-Tenant field, when present.
func tenantSegments(r *http.Request) []string {
	if t := r.Header.Get("X-Tenant"); t != "" {
		return []string{t}
	}
	return nil
}

// tenantOrigin answers a cacheable body naming the tenant and the path.
func tenantOrigin() *origin {
	return secPublic(func(r *http.Request) string {
		return "tenant " + r.Header.Get("X-Tenant") + " " + r.URL.Path
	})
}

// The segments component keeps the key injective: lists that differ in any way (a comma
// inside a segment, an empty segment, the order) give different keys, and no list gives the
// key of another request or of no list at all; nil and an empty list are the key without
// the hook.
func TestKeySegmentsEncoding(t *testing.T) {
	lists := [][]string{
		nil,
		{""},
		{"a"},
		{"a", ""},
		{"", "a"},
		{"a,b"},
		{"a", "b"},
		{"b", "a"},
		{"1:a"},
		{"S1:1:a"},
		{"Q0:"},
		{"a", "b", "c"},
		{"ab", "c"},
		{"a", "bc"},
		{strings.Repeat("x", 300)},
	}
	seen := map[string][]string{}
	for _, l := range lists {
		k := string(appendSegments([]byte("G4:http11:example.com2:/aQ0:"), l))
		if prev, ok := seen[k]; ok {
			t.Fatalf("segments %q and %q share the key %q", prev, l, k)
		}
		seen[k] = l
	}
	if got := appendSegments(nil, []string{}); len(got) != 0 {
		t.Fatalf("an empty list appends %q, want nothing", got)
	}
	if got, want := string(appendSegments(nil, []string{"a,b"})), "S1:3:a,b"; got != want {
		t.Fatalf(`["a,b"]: %q, want %q`, got, want)
	}
	if got, want := string(appendSegments(nil, []string{"a", "b"})), "S2:1:a1:b"; got != want {
		t.Fatalf(`["a", "b"]: %q, want %q`, got, want)
	}

	// Through the hook: a segment cannot forge another URL's key, or the key of a request
	// without segments.
	var segs []string
	c, _ := newTestCache(t, Config{KeySegments: func(*http.Request) []string { return segs }})
	key := func(target string, s []string) string {
		segs = s
		r, reason := c.hooks(httptest.NewRequest("GET", target, nil))
		if reason != "" {
			t.Fatalf("%s: %s", target, reason)
		}
		return string(c.primary(nil, r, nil))
	}
	plain := key("http://example.com/a?x=1", nil)
	if got := key("http://example.com/a?x=1", []string{}); got != plain {
		t.Fatalf("an empty list: key %q, want the key without segments %q", got, plain)
	}
	for _, s := range [][]string{{""}, {"x=1"}, {"Q1:3:x=1"}} {
		if got := key("http://example.com/a", s); got == plain || got == key("http://example.com/a", nil) {
			t.Fatalf("segments %q forge a key without segments: %q", s, got)
		}
	}
	if a, b := key("http://example.com/a", []string{"a,b"}), key("http://example.com/a", []string{"a", "b"}); a == b {
		t.Fatalf(`["a,b"] and ["a", "b"] share the key %q`, a)
	}
}

// FuzzKeySegments: two segment lists give one key for a request only when they are equal.
func FuzzKeySegments(f *testing.F) {
	f.Add("a,b", "", "a", "b")
	f.Add("a", "", "a", "")
	f.Add("1:a", "b", "1", "a1:b")
	var segs []string
	c, err := New(Config{KeySegments: func(*http.Request) []string { return segs }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = c.Close() })
	list := func(x, y string) []string {
		switch {
		case x == "" && y == "":
			return nil
		case y == "":
			return []string{x}
		}
		return []string{x, y}
	}
	f.Fuzz(func(t *testing.T, a1, a2, b1, b2 string) {
		key := func(s []string) string {
			segs = s
			r, _ := c.hooks(httptest.NewRequest("GET", "http://example.com/p?q=1", nil))
			return string(c.primary(nil, r, nil))
		}
		la, lb := list(a1, a2), list(b1, b2)
		if ka, kb := key(la), key(lb); (ka == kb) != slices.Equal(la, lb) {
			t.Fatalf("segments %q and %q: keys %q and %q", la, lb, ka, kb)
		}
	})
}

// TestSecurityKeySegmentsTenants: two tenants (X-Tenant, mapped by the hook) never share an
// entry, on L1 and through Redis, and each still gets hits of its own. Attack: tenant B asks
// for the URL tenant A just filled, and is served A's answer.
func TestSecurityKeySegmentsTenants(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		cfg := tier.config(t, Config{KeySegments: tenantSegments})
		o := tenantOrigin()
		sites := []*secSite{secServe(t, tier.cache(t, cfg).Middleware(o))}
		if tier.redis() {
			// A second instance of the fleet, which finds in Redis what the first stored
			// (or, when its request outran the first's write to Redis, fills its own L1).
			sites = append(sites, secServe(t, tier.cache(t, cfg).Middleware(o)))
		}
		for _, site := range sites {
			for round := 0; round < 2; round++ {
				for _, tenant := range []string{"a", "b", "a,b", ""} {
					r := site.get(t, "/plan", "X-Tenant: "+tenant)
					secWantBody(t, r, "tenant "+tenant+" /plan")
					if round == 1 {
						secWantHit(t, r)
					}
				}
			}
		}
		if !tier.redis() {
			secWantRuns(t, "four tenants", o, 4)
		}
	})
}

// TestSecurityKeySegmentsForcedCollision: with a hash that maps every key to one value,
// tenant A is never served tenant B's entry (the verified key holds the segments), on L1 and
// through Redis.
func TestSecurityKeySegmentsForcedCollision(t *testing.T) {
	constant := func([]byte) uint64 { return 42 }
	secTiers(t, func(t *testing.T, tier secTier) {
		cfg := tier.config(t, Config{KeySegments: tenantSegments})
		o := tenantOrigin()
		sites := []*secSite{secServe(t, secCollisionCache(t, tier, cfg, constant).Middleware(o))}
		if tier.redis() {
			sites = append(sites, secServe(t, secCollisionCache(t, tier, cfg, constant).Middleware(o)))
		}
		tally := &secTally{t: t}
		total := 0
		for _, site := range sites {
			for round := 0; round < 3; round++ {
				for i := 0; i < 20; i++ {
					for _, tenant := range []string{"a", "b"} {
						path := fmt.Sprintf("/item/%d", i%2) // both tenants, one URL, one store key
						tally.check(site.get(t, path, "X-Tenant: "+tenant), "tenant "+tenant+" "+path)
						total++
					}
				}
			}
		}
		tally.done(total)
	})
}

// The fast path builds its key through primary, segments included: tenant A's fresh L1 entry
// answers A on the fast path, and never B.
func TestKeySegmentsFastPath(t *testing.T) {
	c, _ := newTestCache(t, Config{KeySegments: tenantSegments})
	o := tenantOrigin()
	h := c.Middleware(o)
	wantCacheStatus(t, do(t, h, "GET", "http://example.com/plan", "X-Tenant: a"), "strata; fwd=uri-miss; ttl=60; stored")
	fast := func(tenant string) bool {
		r := httptest.NewRequest("GET", "http://example.com/plan", nil)
		r.Header.Set("X-Tenant", tenant)
		r, _ = c.hooks(r)
		served, _, _ := c.serveFast(httptest.NewRecorder(), r, nil)
		return served
	}
	if !fast("a") {
		t.Fatal("tenant a: not answered on the fast path from its own entry")
	}
	if fast("b") {
		t.Fatal("tenant b: answered on the fast path from tenant a's entry")
	}
	w := do(t, h, "GET", "http://example.com/plan", "X-Tenant: b")
	if body(w) != "tenant b /plan" {
		t.Fatalf("tenant b: %q (Cache-Status %q)", body(w), w.Header().Get("Cache-Status"))
	}
	wantRuns(t, o, 2)
}

// A successful unsafe request invalidates the entries of its own segments, and a purge names
// the segments it removes: Purge the entries without any, PurgeWithSegments those of a list,
// and the purge endpoint takes segment= parameters.
func TestKeySegmentsInvalidateAndPurge(t *testing.T) {
	c, _ := newTestCache(t, Config{KeySegments: tenantSegments})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		publicHandler("max-age=60", "tenant "+r.Header.Get("X-Tenant"))(w, r)
	})
	h := c.Middleware(o)
	const u = "http://example.com/plan"
	fill := func() {
		t.Helper()
		for _, tenant := range []string{"a", "b", ""} {
			do(t, h, "GET", u, "X-Tenant: "+tenant)
		}
	}
	// cached reports which tenants' requests are hits.
	cached := func() string {
		t.Helper()
		var out []string
		for _, tenant := range []string{"a", "b", ""} {
			if strings.Contains(do(t, h, "GET", u, "X-Tenant: "+tenant).Header().Get("Cache-Status"), "; hit") {
				out = append(out, "'"+tenant+"'")
			}
		}
		return strings.Join(out, " ")
	}
	fill()
	if got := cached(); got != "'a' 'b' ''" {
		t.Fatalf("after the fill, hits for %s", got)
	}
	wantStatus(t, do(t, h, "PUT", u, "X-Tenant: a"), http.StatusNoContent)
	if got := cached(); got != "'b' ''" {
		t.Fatalf("after tenant a's PUT, hits for %s; want b and none", got)
	}

	fill()
	if n, err := c.Purge(context.Background(), u); err != nil || n != 1 {
		t.Fatalf("Purge: %d, %v; want the one entry without segments", n, err)
	}
	if got := cached(); got != "'a' 'b'" {
		t.Fatalf("after Purge, hits for %s; want a and b", got)
	}
	if n, err := c.PurgeWithSegments(context.Background(), u, "b"); err != nil || n != 1 {
		t.Fatalf("PurgeWithSegments b: %d, %v", n, err)
	}
	if got := cached(); got != "'a' ''" {
		t.Fatalf("after PurgeWithSegments b, hits for %s; want a and none", got)
	}
	if n, err := c.PurgeWithSegments(context.Background(), u, "a", ""); err != nil || n != 0 {
		t.Fatalf(`PurgeWithSegments ["a", ""]: %d, %v; want none removed (another list)`, n, err)
	}

	ph := c.PurgeHandler("tok")
	w := do(t, ph, "POST", "http://example.com/purge?url=/plan&segment=a", "Authorization: Bearer tok")
	if got := strings.TrimSpace(body(w)); got != `{"purged":1}` {
		t.Fatalf("purge endpoint with segment=a: %s", got)
	}
	if got := cached(); got != "'b' ''" { // cached() filled b again
		t.Fatalf("after the purge endpoint, hits for %s; want b and none", got)
	}
}

// A KeySegments that panics passes its request by (detail key-hook), logged; the handler
// answers, and nothing is stored. http.ErrAbortHandler goes on up.
func TestKeySegmentsPanic(t *testing.T) {
	var logs bytes.Buffer
	obs := &events{}
	c, _ := newTestCache(t, Config{
		Observer: obs,
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		KeySegments: func(r *http.Request) []string {
			switch r.Header.Get("X-Tenant") {
			case "":
				panic("no tenant")
			case "abort":
				panic(http.ErrAbortHandler)
			}
			return []string{r.Header.Get("X-Tenant")}
		},
	})
	o := tenantOrigin()
	h := c.Middleware(o)
	for i := 0; i < 2; i++ {
		w := do(t, h, "GET", "http://example.com/plan")
		wantCacheStatus(t, w, "strata; fwd=bypass; detail=key-hook")
		if body(w) != "tenant  /plan" {
			t.Fatalf("body %q", body(w))
		}
	}
	wantRuns(t, o, 2)
	if ev := obs.last(); ev.Result != ResultBypass || ev.Reason != "key-hook" {
		t.Fatalf("event %+v", ev)
	}
	if !strings.Contains(logs.String(), "hook=key-segments") || !strings.Contains(logs.String(), "no tenant") {
		t.Fatalf("log: %q", logs.String())
	}
	wantCacheStatus(t, do(t, h, "GET", "http://example.com/plan", "X-Tenant: a"), "strata; fwd=uri-miss; ttl=60; stored")

	defer func() {
		if p := recover(); p != http.ErrAbortHandler { //nolint:errorlint // the sentinel itself
			t.Fatalf("recovered %v, want http.ErrAbortHandler", p)
		}
	}()
	do(t, h, "GET", "http://example.com/plan", "X-Tenant: abort")
}

// Skip passes a GET or HEAD by the cache (no lookup, no store) with detail skip; an unsafe
// request is not asked about and still invalidates; a Skip that panics skips.
func TestSkip(t *testing.T) {
	obs := &events{}
	c, _ := newTestCache(t, Config{
		Observer: obs,
		Skip: func(r *http.Request) bool {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				t.Errorf("Skip asked about a %s", r.Method)
			}
			if r.Header.Get("X-Skip") == "panic" {
				panic("skip hook")
			}
			return r.Header.Get("X-Skip") != ""
		},
	})
	runs := 0
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		runs++
		publicHandler("max-age=60", fmt.Sprintf("run %d", runs))(w, r)
	}))
	const u = "http://example.com/s"
	w := do(t, h, "GET", u, "X-Skip: 1")
	wantCacheStatus(t, w, "strata; fwd=bypass; detail=skip")
	if ev := obs.last(); ev.Result != ResultBypass || ev.Reason != "skip" || ev.Status != http.StatusOK {
		t.Fatalf("event %+v", ev)
	}
	wantCacheStatus(t, do(t, h, "GET", u), "strata; fwd=uri-miss; ttl=60; stored") // nothing stored by the skip
	wantCacheStatus(t, do(t, h, "GET", u), "strata; hit; ttl=60")
	for _, hdr := range []string{"X-Skip: 1", "X-Skip: panic"} {
		w = do(t, h, "GET", u, hdr)
		wantCacheStatus(t, w, "strata; fwd=bypass; detail=skip") // no lookup: the entry is not served
		if body(w) == "run 1" {
			t.Fatalf("%s: served the stored entry", hdr)
		}
	}
	wantCacheStatus(t, do(t, h, "HEAD", u, "X-Skip: 1"), "strata; fwd=bypass; detail=skip")
	wantCacheStatus(t, do(t, h, "GET", u), "strata; hit; ttl=60") // still the first fill
	wantCacheStatus(t, do(t, h, "PUT", u, "X-Skip: 1"), "strata; fwd=method")
	wantCacheStatus(t, do(t, h, "GET", u), "strata; fwd=uri-miss; ttl=60; stored") // invalidated
}

// HandlerOptions.Skip: an adapter's skip acts as Config.Skip does, before it.
func TestHandlerOptionsSkip(t *testing.T) {
	c, _ := newTestCache(t, Config{KeySegments: func(r *http.Request) []string {
		if r.Header.Get("X-Adapter-Skip") != "" && r.Method == http.MethodGet {
			t.Error("KeySegments asked about a request the adapter skipped")
		}
		return nil
	}})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		publicHandler("max-age=60", "page")(w, r)
	})
	h := c.Handler(o, HandlerOptions{Skip: func(r *http.Request) bool { return r.Header.Get("X-Adapter-Skip") != "" }})
	const u = "http://example.com/s"
	wantCacheStatus(t, do(t, h, "GET", u, "X-Adapter-Skip: 1"), "strata; fwd=bypass; detail=skip")
	wantCacheStatus(t, do(t, h, "GET", u), "strata; fwd=uri-miss; ttl=60; stored")
	wantCacheStatus(t, do(t, h, "GET", u, "X-Adapter-Skip: 1"), "strata; fwd=bypass; detail=skip")
	wantCacheStatus(t, do(t, h, "DELETE", u, "X-Adapter-Skip: 1"), "strata; fwd=method")
	wantCacheStatus(t, do(t, h, "GET", u), "strata; fwd=uri-miss; ttl=60; stored")
	wantRuns(t, o, 5)
}

// Without hooks, a hit still allocates nothing for them: no context lookup, no request copy.
func TestNoHooksCostNothing(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	r := httptest.NewRequest("GET", "http://example.com/a", nil)
	if n := testing.AllocsPerRun(100, func() { _ = c.segmentsOf(r) }); n != 0 {
		t.Fatalf("segmentsOf without the hook: %v allocations", n)
	}
	if got := c.segmentsOf(r.WithContext(context.WithValue(r.Context(), segmentsKey{}, "S1:1:a"))); got != "" {
		t.Fatalf("segmentsOf without the hook read %q from the context", got)
	}
}

// A refresh after a stale answer keys with the request's segments: tenant A's refresh renews
// tenant A's entry, and tenant B's stays as it was.
func TestKeySegmentsRefresh(t *testing.T) {
	c, clk := newTestCache(t, Config{KeySegments: tenantSegments})
	runs := map[string]int{}
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant := r.Header.Get("X-Tenant")
		runs[tenant]++
		publicHandler("max-age=1, stale-while-revalidate=60", fmt.Sprintf("tenant %s v%d", tenant, runs[tenant]))(w, r)
	}))
	get := func(tenant string) string {
		t.Helper()
		w := do(t, h, "GET", "http://example.com/plan", "X-Tenant: "+tenant)
		return body(w) + " | " + w.Header().Get("Cache-Status")
	}
	get("a")
	get("b")
	clk.Advance(2 * time.Second)
	if got := get("a"); !strings.HasPrefix(got, "tenant a v1 | strata; hit; ttl=-1; detail=stale-while-revalidate") {
		t.Fatalf("tenant a, stale: %s", got)
	}
	if err := c.WaitRefreshes(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := get("a"); !strings.HasPrefix(got, "tenant a v2 | strata; hit") {
		t.Fatalf("tenant a, refreshed: %s", got)
	}
	if got := get("b"); !strings.HasPrefix(got, "tenant b v1 | strata; hit; ttl=-1; detail=stale-while-revalidate") {
		t.Fatalf("tenant b: %s", got)
	}
}
