// Package demotest is the acceptance test of the demo API, run by every example against its
// own router: the chi, gin and echo examples must behave the same.
package demotest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-cache/strata/examples/internal/demo"
	"github.com/strata-cache/strata/internal/memcachedtest"
	"github.com/strata-cache/strata/internal/redistest"
)

// Router builds an example's whole handler.
type Router func(*demo.Setup, *demo.App) http.Handler

// server starts an example behind a real HTTP server.
func server(t *testing.T, router Router, f demo.Flags, token string) (*httptest.Server, *demo.App) {
	t.Helper()
	setup, err := demo.NewSetup(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = setup.Close() })
	app, err := demo.NewApp(setup.Cache, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Close() })
	app.AdminToken = token
	srv := httptest.NewServer(router(setup, app))
	t.Cleanup(srv.Close)
	return srv, app
}

type reply struct {
	status int
	h      http.Header
	body   string
}

func call(t *testing.T, method, url string, body string, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range hdr {
		k, v, _ := strings.Cut(kv, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func origin(t *testing.T, base string) map[string]int {
	t.Helper()
	var m map[string]int
	if err := json.Unmarshal([]byte(call(t, "GET", base+"/debug/origin", "").body), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func expect(t *testing.T, what string, ok bool, got any) {
	t.Helper()
	if !ok {
		t.Fatalf("%s: got %v", what, got)
	}
}

// DemoAPI walks the README's curl lines and the issues' acceptance steps on L1 alone.
func DemoAPI(t *testing.T, router Router) {
	srv, _ := server(t, router, demo.Flags{}, "s3cret")
	b := srv.URL

	r := call(t, "GET", b+"/products/1", "")
	expect(t, "first GET", r.status == 200 && strings.Contains(r.h.Get("Cache-Status"), "fwd=uri-miss") && strings.Contains(r.h.Get("Cache-Status"), "stored"), r.h.Get("Cache-Status"))
	tag := r.h.Get("Etag")
	r = call(t, "GET", b+"/products/1", "")
	expect(t, "second GET is a hit with Age", strings.HasPrefix(r.h.Get("Cache-Status"), "strata; hit") && r.h.Get("Age") != "", r.h)
	expect(t, "one origin run", origin(t, b)["/products/{id}"] == 1, origin(t, b))

	for _, inm := range []string{tag, "W/" + tag, "*"} {
		r = call(t, "GET", b+"/products/1", "", "If-None-Match: "+inm)
		expect(t, "304 for If-None-Match "+inm, r.status == 304 && r.body == "" && r.h.Get("Etag") == tag, r.status)
	}
	expect(t, "non-matching tag", call(t, "GET", b+"/products/1", "", `If-None-Match: "nope"`).status == 200, nil)

	// /me: private, never stored, but 304 on a matching If-None-Match.
	me := call(t, "GET", b+"/me", "", "Authorization: Bearer alice-token")
	expect(t, "/me", me.status == 200 && strings.Contains(me.body, "alice"), me.body)
	me2 := call(t, "GET", b+"/me", "", "Authorization: Bearer alice-token", "If-None-Match: "+me.h.Get("Etag"))
	expect(t, "/me 304", me2.status == 304, me2.status)
	expect(t, "/me never stored", origin(t, b)["/me"] == 2, origin(t, b))
	expect(t, "/me without token", call(t, "GET", b+"/me", "").status == 401, nil)

	// 404 negatively cached.
	call(t, "GET", b+"/products/999", "")
	r = call(t, "GET", b+"/products/999", "")
	expect(t, "404 negative hit", r.status == 404 && strings.Contains(r.h.Get("Cache-Status"), "detail=negative"), r.h.Get("Cache-Status"))
	expect(t, "404 origin runs", origin(t, b)["/products/{id}"] == 2, origin(t, b))

	// PUT invalidates the product and its category list.
	call(t, "GET", b+"/products?category=games", "")
	r = call(t, "PUT", b+"/products/1", `{"price":5.55}`)
	expect(t, "PUT", r.status == 200, r.body)
	r = call(t, "GET", b+"/products/1", "")
	expect(t, "new price after PUT", strings.Contains(r.body, `"price":5.55`) && strings.Contains(r.body, `"version":2`), r.body)
	r = call(t, "GET", b+"/products?category=games", "")
	expect(t, "list is a miss after PUT", strings.Contains(r.h.Get("Cache-Status"), "fwd="), r.h.Get("Cache-Status"))

	// Purge endpoint.
	expect(t, "purge without token", call(t, "POST", b+"/admin/purge?tag=product:1", "").status == 401, nil)
	expect(t, "purge wrong token", call(t, "POST", b+"/admin/purge?tag=product:1", "", "Authorization: Bearer x").status == 403, nil)
	expect(t, "still cached", strings.Contains(call(t, "GET", b+"/products/1", "").h.Get("Cache-Status"), "hit"), nil)
	r = call(t, "POST", b+"/admin/purge?tag=product:1", "", "Authorization: Bearer s3cret")
	expect(t, "purge", r.status == 200 && strings.Contains(r.body, `"purged":1`), r.body)
	expect(t, "miss after purge", strings.Contains(call(t, "GET", b+"/products/1", "").h.Get("Cache-Status"), "fwd=uri-miss"), nil)

	// /clock: stale-while-revalidate, then stale-if-error.
	first := call(t, "GET", b+"/clock", "").body
	time.Sleep(2100 * time.Millisecond)
	start := time.Now()
	r = call(t, "GET", b+"/clock", "")
	expect(t, "SWR answers at once with the stale body", time.Since(start) < 100*time.Millisecond && r.body == first &&
		strings.Contains(r.h.Get("Cache-Status"), "stale"), r.h.Get("Cache-Status"))
	r = call(t, "GET", b+"/clock", "")
	expect(t, "refreshed value next", r.body != first, r.body)
	call(t, "PUT", b+"/debug/fail?on=1", "")
	time.Sleep(2100 * time.Millisecond)
	r = call(t, "GET", b+"/clock", "")
	expect(t, "stale /clock while the origin fails", r.status == 200 && strings.Contains(r.h.Get("Cache-Status"), "stale"), r.h.Get("Cache-Status"))
	call(t, "PUT", b+"/debug/fail?on=0", "")
}

// TwoInstancesOnRedis: two example servers on one Redis share entries, invalidations and
// purges.
func TwoInstancesOnRedis(t *testing.T, router Router) {
	rs := redistest.Start(t)
	f := demo.Flags{Redis: rs.URL()}
	a, _ := server(t, router, f, "s3cret")
	b, _ := server(t, router, f, "s3cret")

	call(t, "GET", a.URL+"/products/2", "")
	r := call(t, "GET", b.URL+"/products/2", "")
	expect(t, "hit on the second instance", strings.HasPrefix(r.h.Get("Cache-Status"), "strata; hit"), r.h.Get("Cache-Status"))
	expect(t, "no origin run on the second", origin(t, b.URL)["/products/{id}"] == 0, origin(t, b.URL))

	call(t, "PUT", a.URL+"/products/2", `{"price":7.77}`)
	r = call(t, "GET", b.URL+"/products/2", "")
	expect(t, "second answers the new version", strings.Contains(r.body, `"version":2`), r.body)

	call(t, "GET", b.URL+"/products/3", "")
	expect(t, "cached on A", strings.Contains(call(t, "GET", a.URL+"/products/3", "").h.Get("Cache-Status"), "hit"), nil)
	call(t, "POST", a.URL+"/admin/purge?tag=product:3", "", "Authorization: Bearer s3cret")
	r = call(t, "GET", b.URL+"/products/3", "")
	expect(t, "purge on A reaches B", strings.Contains(r.h.Get("Cache-Status"), "fwd=uri-miss"), r.h.Get("Cache-Status"))
}

// TwoInstancesOnMemcached: two example servers with one key secret on one memcached share
// entries (its L2); each keeps its own fleet, so a purge on one reaches the other's L2 entry
// but not its L1.
func TwoInstancesOnMemcached(t *testing.T, router Router) {
	mc := memcachedtest.Start(t)
	f := demo.Flags{Memcached: mc.Addr(), KeySecret: "shared-demo-secret"} //nolint:gosec // a test's key secret, not a credential
	a, _ := server(t, router, f, "s3cret")
	b, _ := server(t, router, f, "s3cret")

	r := call(t, "GET", a.URL+"/products/2", "")
	expect(t, "stored on A", strings.Contains(r.h.Get("Cache-Status"), "stored"), r.h.Get("Cache-Status"))
	r = call(t, "GET", b.URL+"/products/2", "")
	expect(t, "hit on B from memcached", strings.HasPrefix(r.h.Get("Cache-Status"), "strata; hit"), r.h.Get("Cache-Status"))
	expect(t, "no origin run on B", origin(t, b.URL)["/products/{id}"] == 0, origin(t, b.URL))

	call(t, "GET", a.URL+"/products/4", "")
	call(t, "POST", a.URL+"/admin/purge?url=/products/4", "", "Authorization: Bearer s3cret")
	r = call(t, "GET", b.URL+"/products/4", "")
	expect(t, "a purge on A removed the memcached entry", strings.Contains(r.h.Get("Cache-Status"), "fwd=uri-miss"), r.h.Get("Cache-Status"))
}

// Head: every GET route answers HEAD, from the GET entry.
func Head(t *testing.T, router Router) {
	srv, _ := server(t, router, demo.Flags{}, "s3cret")
	r := call(t, "HEAD", srv.URL+"/products/5", "")
	expect(t, "HEAD miss", r.status == 200 && r.body == "" && strings.Contains(r.h.Get("Cache-Status"), "stored"), r.h.Get("Cache-Status"))
	r = call(t, "GET", srv.URL+"/products/5", "")
	expect(t, "GET after HEAD is a hit", strings.HasPrefix(r.h.Get("Cache-Status"), "strata; hit") && strings.Contains(r.body, `"id":5`), r.h.Get("Cache-Status"))
	expect(t, "one origin run", origin(t, srv.URL)["/products/{id}"] == 1, origin(t, srv.URL))
	expect(t, "HEAD /metrics", call(t, "HEAD", srv.URL+"/metrics", "").status == 200, nil)
}

// ConcurrentPuts: concurrent PUTs of one product, through two instances sharing the
// catalogue (database 1 of their -redis server), all succeed: each optimistic transaction
// that loses to another is retried, so every PUT applies once, in some order.
func ConcurrentPuts(t *testing.T, router Router) {
	rs := redistest.Start(t)
	f := demo.Flags{Redis: rs.URL()}
	a, _ := server(t, router, f, "s3cret")
	b, _ := server(t, router, f, "s3cret")

	const n = 40
	type result struct {
		status int
		body   string
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for i := range n {
		base := a.URL
		if i%2 == 1 {
			base = b.URL
		}
		wg.Go(func() {
			req, err := http.NewRequest("PUT", base+"/products/9", strings.NewReader(fmt.Sprintf(`{"price":%d}`, i)))
			if err != nil {
				results <- result{0, err.Error()}
				return
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- result{0, err.Error()}
				return
			}
			defer func() { _ = resp.Body.Close() }()
			body, _ := io.ReadAll(resp.Body)
			results <- result{resp.StatusCode, string(body)}
		})
	}
	wg.Wait()
	close(results)
	versions := make(map[int]bool)
	for r := range results {
		var p demo.Product
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &p) != nil {
			t.Fatalf("a concurrent PUT answered %d: %s", r.status, r.body)
		}
		versions[p.Version] = true
	}
	for v := 2; v <= n+1; v++ {
		expect(t, fmt.Sprintf("a PUT made version %d", v), versions[v], versions)
	}
	r := call(t, "GET", b.URL+"/products/9", "")
	expect(t, "every PUT applied once", strings.Contains(r.body, fmt.Sprintf(`"version":%d`, n+1)), r.body)
}

// CacheRedisDown: two instances whose cache Redis is down when they boot, with the catalogue
// in a database of its own (-db), boot and serve every route from L1 and the origin, each
// request bounded in time; once the cache's Redis is back, L2 use resumes without a restart
// (an entry stored by one instance is a hit on the other).
func CacheRedisDown(t *testing.T, router Router) {
	cacheRedis := redistest.Start(t)
	db := redistest.Start(t)
	cacheRedis.Stop()
	f := demo.Flags{Redis: cacheRedis.URL(), DB: db.URL()}
	a, _ := server(t, router, f, "s3cret")
	b, _ := server(t, router, f, "s3cret")

	for i, path := range []string{"/products/1", "/products/1", "/products?category=books", "/clock", "/products/2"} {
		start := time.Now()
		r := call(t, "GET", a.URL+path, "")
		expect(t, "GET "+path+" with the cache's Redis down", r.status == 200, r.status)
		expect(t, "answered within a second", time.Since(start) < time.Second, time.Since(start))
		if i == 1 {
			expect(t, "second GET is an L1 hit", strings.HasPrefix(r.h.Get("Cache-Status"), "strata; hit"), r.h.Get("Cache-Status"))
		}
	}
	r := call(t, "PUT", b.URL+"/products/2", `{"price":3.5}`)
	expect(t, "PUT with the cache's Redis down", r.status == 200 && strings.Contains(r.body, `"version":2`), r.body)
	r = call(t, "GET", b.URL+"/products/2", "")
	expect(t, "B reads the catalogue's new version", r.status == 200 && strings.Contains(r.body, `"version":2`), r.body)
	expect(t, "me", call(t, "GET", a.URL+"/me", "", "Authorization: Bearer bob-token").status == 200, nil)

	cacheRedis.Restart()
	deadline := time.Now().Add(20 * time.Second)
	for id := 10; ; id++ {
		path := fmt.Sprintf("/products/%d", id)
		call(t, "GET", a.URL+path, "")
		r := call(t, "GET", b.URL+path, "")
		if strings.HasPrefix(r.h.Get("Cache-Status"), "strata; hit") {
			break // stored by A in L2, found there by B
		}
		if time.Now().After(deadline) || id == 100 {
			t.Fatalf("L2 use did not resume after the cache's Redis came back: last Cache-Status %q", r.h.Get("Cache-Status"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// CatalogueDownAtBoot: given only -redis, the catalogue is database 1 of that server; with
// the server down at boot the demo still boots, the catalogue routes answer 503 (never
// stored, Retry-After), the others serve, and the catalogue serves once the server is back.
func CatalogueDownAtBoot(t *testing.T, router Router) {
	rs := redistest.Start(t)
	rs.Stop()
	a, _ := server(t, router, demo.Flags{Redis: rs.URL()}, "s3cret")

	r := call(t, "GET", a.URL+"/products/1", "")
	expect(t, "503 while the catalogue is unreachable", r.status == 503 && r.h.Get("Retry-After") != "" &&
		strings.Contains(r.h.Get("Cache-Control"), "no-store"), r)
	expect(t, "other routes serve", call(t, "GET", a.URL+"/clock", "").status == 200, nil)
	expect(t, "PUT answers 503 too", call(t, "PUT", a.URL+"/products/1", `{"price":1}`).status == 503, nil)

	rs.Restart()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r = call(t, "GET", a.URL+"/products/1", "")
		if r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("catalogue still unavailable after the server came back: %d %s", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	expect(t, "seeded", strings.Contains(r.body, `"version":1`), r.body)
}
