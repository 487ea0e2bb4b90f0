package conformance

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// slowFor is how long a handler of a coalescing scenario takes: long enough for every
// concurrent request to queue behind the first.
const slowFor = 200 * time.Millisecond

// coalesceScenarios: one origin run per key for concurrent misses (stampede protection).
func coalesceScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "coalesce/concurrent-miss",
			Routes: []Route{get("/a", slow(slowFor, "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Parallel: 8, Status: 200, Want: []Check{Body("v1"), Count(1, HeaderContains("Cache-Status", "stored"))}, Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "coalesce/uncacheable-runs-each",
			Routes: []Route{get("/a", slow(slowFor/2, "Cache-Control: private"))},
			Steps: []Step{
				{Note: "waiters run the handler themselves when the answer cannot be shared", Path: "/a", Parallel: 4, Status: 200,
					Want: []Check{HeaderContains("Cache-Status", "detail=private"), HeaderNotContains("Cache-Status", "collapsed")}, Runs: Runs{"/a": 4}},
			},
		},
		{
			Name:   "coalesce/leader-panics",
			Routes: []Route{get("/a", panicOn([]int{1}, slowFor, "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Note: "a waiter takes over from a leader that panicked", Path: "/a", Parallel: 4,
					Want: []Check{Count(1, Status(500)), Count(3, Status(200)), Count(3, Body("v2")), Count(0, BodyContains("partial"))}, Runs: Runs{"/a": 2}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "coalesce/distinct-keys-not-coalesced",
			Routes: []Route{get("/a", slow(slowFor/4, "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a?x=1", Status: 200, Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"/a": 1}},
				{Path: "/a?x=2", Status: 200, Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"/a": 2}},
			},
		},
	}
}

// purgeScenarios: explicit invalidation by URL, tag and generation.
func purgeScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "purge/url",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/a", Want: []Check{CacheStatus(hit60)}},
				{Do: purgeURL("/a", 1)},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "purge/url-exact-query",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a?x=1", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/a?x=2", Want: []Check{CacheStatus(missStored60)}},
				{Do: purgeURL("/a?x=1", 1)},
				{Path: "/a?x=2", Want: []Check{CacheStatus(hit60), Body("v2")}, Runs: Runs{"/a": 2}},
				{Path: "/a?x=1", Want: []Check{CacheStatus(missStored60), Body("v3")}, Runs: Runs{"/a": 3}},
			},
		},
		{
			Name:   "purge/url-nothing-stored",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60"))},
			Steps: []Step{
				{Do: purgeURL("/a", 0)},
			},
		},
		{
			Name:   "purge/route-policy-tag",
			Routes: []Route{{Path: "/a", Policy: headers.Public(time.Minute).Tags("t1"), Handler: versioned()}},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Do: purgeTags(0, "other")},
				{Path: "/a", Want: []Check{CacheStatus(hit60)}, Runs: Runs{"/a": 1}},
				{Do: purgeTags(1, "t1")},
				{Path: "/a", Want: []Check{CacheStatus(missStored60), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "purge/surrogate-key",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60", "Surrogate-Key: k1 k2"))},
			Steps: []Step{
				{Note: "indexed, then stripped from the client's answer", Path: "/a", Want: []Check{CacheStatus(missStored60), HeaderAbsent("Surrogate-Key")}},
				{Path: "/a", Want: []Check{CacheStatus(hit60), HeaderAbsent("Surrogate-Key")}},
				{Do: purgeTags(1, "k2")},
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "purge/cache-tag",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60", "Cache-Tag: c1,c2"))},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60), HeaderAbsent("Cache-Tag")}},
				{Do: purgeTags(1, "c1")},
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "purge/surrogate-key-forwarded",
			Config: func(c *core.Config) { c.ForwardSurrogateKey = true },
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60", "Surrogate-Key: k1"))},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60), Header("Surrogate-Key", "k1")}},
				{Path: "/a", Want: []Check{CacheStatus(hit60), Header("Surrogate-Key", "k1")}},
			},
		},
		{
			Name: "purge/tag-func",
			Routes: []Route{{Path: "/a", Handler: versioned(),
				Policy: headers.Public(time.Minute).TagFunc(func(r *http.Request) []string { return []string{"q:" + r.URL.Query().Get("q")} })}},
			Steps: []Step{
				{Path: "/a?q=1", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/a?q=2", Want: []Check{CacheStatus(missStored60)}},
				{Do: purgeTags(1, "q:1")},
				{Path: "/a?q=2", Want: []Check{CacheStatus(hit60)}, Runs: Runs{"/a": 2}},
				{Path: "/a?q=1", Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"/a": 3}},
			},
		},
		{
			Name: "purge/tag-shared-by-routes",
			Routes: []Route{
				{Path: "/a", Policy: headers.Public(time.Minute).Tags("t"), Handler: versioned()},
				{Path: "/b", Policy: headers.Public(time.Minute).Tags("t", "b"), Handler: versioned()},
				{Path: "/c", Policy: headers.Public(time.Minute).Tags("c"), Handler: versioned()},
			},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/b", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/c", Want: []Check{CacheStatus(missStored60)}},
				{Do: purgeTags(2, "t")},
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"/a": 2}},
				{Path: "/b", Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"/b": 2}},
				{Path: "/c", Want: []Check{CacheStatus(hit60)}, Runs: Runs{"/c": 1}},
			},
		},
		{
			Name: "purge/all",
			Routes: []Route{
				get("/a", versioned("Cache-Control: max-age=60")),
				get("/b", versioned("Cache-Control: max-age=60")),
			},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/b", Want: []Check{CacheStatus(missStored60)}},
				{Do: purgeAll},
				{Path: "/a", Want: []Check{CacheStatus(missStored60), Body("v2")}, Runs: Runs{"/a": 2}},
				{Path: "/b", Want: []Check{CacheStatus(missStored60), Body("v2")}, Runs: Runs{"/b": 2}},
			},
		},
	}
}

// unsafeScenarios: unsafe methods pass through and invalidate (RFC 9111 §4.4).
func unsafeScenarios() []Scenario {
	getA := func() Route { return get("/a", versioned("Cache-Control: max-age=60")) }
	getB := func() Route { return get("/b", versioned("Cache-Control: max-age=60")) }
	route := func(method, path string, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Handler: h}
	}
	return []Scenario{
		{
			Name:   "unsafe/post-invalidates",
			Routes: []Route{getA(), route(http.MethodPost, "/a", respond(201, "created"))},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/a", Want: []Check{CacheStatus(hit60)}},
				{Method: http.MethodPost, Path: "/a", Send: "x=1", Status: 201, Want: []Check{CacheStatus("strata; fwd=method"), Body("created")}, Runs: Runs{"POST /a": 1}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("v2")}, Runs: Runs{"GET /a": 2}},
			},
		},
		{
			Name:   "unsafe/location-invalidated",
			Routes: []Route{getA(), getB(), route(http.MethodPost, "/a", respond(201, "", "Location: /b", "Content-Location: /a"))},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/b", Want: []Check{CacheStatus(missStored60)}},
				{Method: http.MethodPost, Path: "/a", Status: 201},
				{Path: "/b", Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"/b": 2}},
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"GET /a": 2}},
			},
		},
		{
			Name:   "unsafe/other-host-location-ignored",
			Routes: []Route{getA(), getB(), route(http.MethodPost, "/a", respond(201, "", "Location: http://other.example/b"))},
			Steps: []Step{
				{Path: "/b", Want: []Check{CacheStatus(missStored60)}},
				{Method: http.MethodPost, Path: "/a", Status: 201},
				{Note: "§4.4: only same-origin URIs are invalidated", Path: "/b", Want: []Check{CacheStatus(hit60)}, Runs: Runs{"/b": 1}},
			},
		},
		{
			Name:   "unsafe/failed-keeps-entry",
			Routes: []Route{getA(), route(http.MethodPost, "/a", respond(500, "failed"))},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Method: http.MethodPost, Path: "/a", Status: 500, Want: []Check{Body("failed")}},
				{Path: "/a", Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"GET /a": 1}},
			},
		},
		{
			Name:   "unsafe/delete-invalidates",
			Routes: []Route{getA(), route(http.MethodDelete, "/a", respond(204, ""))},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Method: http.MethodDelete, Path: "/a", Status: 204, Want: []Check{CacheStatus("strata; fwd=method")}},
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"GET /a": 2}},
			},
		},
		{
			Name:   "unsafe/put-redirect-invalidates",
			Routes: []Route{getA(), route(http.MethodPut, "/a", respond(303, "", "Location: /a"))},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Method: http.MethodPut, Path: "/a", Send: "{}", Status: 303},
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"GET /a": 2}},
			},
		},
		{
			Name:   "unsafe/options-passes-through",
			Routes: []Route{getA(), route(http.MethodOptions, "/a", respond(204, "", "Allow: GET, HEAD, OPTIONS"))},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Method: http.MethodOptions, Path: "/a", Status: 204, Want: []Check{CacheStatus("strata; fwd=method"), Header("Allow", "GET, HEAD, OPTIONS")}},
				{Note: "a safe method invalidates nothing", Path: "/a", Want: []Check{CacheStatus(hit60)}, Runs: Runs{"GET /a": 1}},
			},
		},
	}
}

// cacheStatusScenarios: the Cache-Status field (RFC 9211) and request directives.
func cacheStatusScenarios() []Scenario {
	a := func() Route { return get("/a", versioned("Cache-Control: max-age=60")) }
	return []Scenario{
		{
			Name:   "status/only-if-cached",
			Routes: []Route{a()},
			Steps: []Step{
				{Note: "§5.2.1.7", Path: "/a", Header: []string{"Cache-Control: only-if-cached"}, Status: 504, Runs: Runs{"/a": 0}},
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/a", Header: []string{"Cache-Control: only-if-cached"}, Status: 200, Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name: "status/upstream-members-kept",
			Routes: []Route{
				get("/a", versioned("Cache-Control: max-age=60", "Cache-Status: upstream; hit; ttl=300")),
				get("/p", versioned("Cache-Control: private", "Cache-Status: upstream; fwd=uri-miss")),
			},
			Steps: []Step{
				{Note: "RFC 9211 §2: the upstream's member first, this cache's appended", Path: "/a",
					Want: []Check{HeaderValues("Cache-Status", "upstream; hit; ttl=300", missStored60)}, Capture: []string{"Etag"}},
				{Note: "replayed from the entry", Path: "/a", Want: []Check{HeaderValues("Cache-Status", "upstream; hit; ttl=300", hit60), Body("v1")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Header: []string{"If-None-Match: {{Etag}}"}, Status: 304, Want: []Check{HeaderValues("Cache-Status", "upstream; hit; ttl=300", hit60)}, Runs: Runs{"/a": 1}},
				{Note: "not stored", Path: "/p", Want: []Check{HeaderValues("Cache-Status", "upstream; fwd=uri-miss", "strata; fwd=uri-miss; fwd-status=200; detail=private")}},
			},
		},
		{
			Name:   "status/cache-name",
			Config: func(c *core.Config) { c.Name = "edge" },
			Routes: []Route{a()},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus("edge; fwd=uri-miss; ttl=60; stored")}},
				{Path: "/a", Want: []Check{CacheStatus("edge; hit; ttl=60")}},
			},
		},
		{
			Name:   "status/debug-key",
			Config: func(c *core.Config) { c.Debug = true },
			Routes: []Route{a()},
			Steps: []Step{
				{Path: "/a", Want: []Check{HeaderContains("Cache-Status", "; key=")}},
				{Path: "/a", Want: []Check{HeaderContains("Cache-Status", "strata; hit; ttl=60; key=")}},
			},
		},
		{
			Name:   "status/client-no-cache-ignored",
			Routes: []Route{a()},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/a", Header: []string{"Cache-Control: no-cache"}, Want: []Check{CacheStatus(hit60)}, Runs: Runs{"/a": 1}},
				{Path: "/a", Header: []string{"Pragma: no-cache"}, Want: []Check{CacheStatus(hit60)}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "status/client-no-cache-honoured",
			Config: func(c *core.Config) { c.HonorRequestNoCache = true },
			Routes: []Route{a()},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/a", Header: []string{"Cache-Control: no-cache"}, Want: []Check{CacheStatus("strata; fwd=request; ttl=60; stored"), Body("v2")}, Runs: Runs{"/a": 2}},
				{Path: "/a", Header: []string{"Cache-Control: max-age=0"}, Want: []Check{CacheStatus("strata; fwd=request; ttl=60; stored"), Body("v3")}, Runs: Runs{"/a": 3}},
				{Path: "/a", Header: []string{"Pragma: no-cache"}, Want: []Check{CacheStatus("strata; fwd=request; ttl=60; stored")}, Runs: Runs{"/a": 4}},
				{Path: "/a", Want: []Check{CacheStatus(hit60), Body("v4")}, Runs: Runs{"/a": 4}},
			},
		},
		{
			Name:   "status/client-min-fresh-honoured",
			Config: func(c *core.Config) { c.HonorRequestNoCache = true },
			Routes: []Route{a()},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Advance: 40 * time.Second, Path: "/a", Header: []string{"Cache-Control: min-fresh=10"}, Want: []Check{CacheStatus("strata; hit; ttl=20"), Body("v1")}, Runs: Runs{"/a": 1}},
				{Note: "§5.2.1.3: 20 s left is less than min-fresh=30: revalidated", Path: "/a", Header: []string{"Cache-Control: min-fresh=30"},
					Want: []Check{CacheStatus("strata; fwd=request; ttl=60; stored"), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "status/client-max-stale-honoured",
			Config: func(c *core.Config) { c.HonorRequestNoCache = true },
			Routes: []Route{a(), get("/s", versioned("Cache-Control: s-maxage=60"))},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Note: "§5.2.1.2: stale by 10 s, the client accepts 30", Advance: 70 * time.Second, Path: "/a", Header: []string{"Cache-Control: max-stale=30"},
					Want: []Check{CacheStatus("strata; hit; ttl=-10; detail=max-stale"), Body("v1")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Header: []string{"Cache-Control: max-stale=5"}, Want: []Check{HeaderContains("Cache-Status", "fwd=stale"), Body("v2")}, Runs: Runs{"/a": 2}},
				{Path: "/s", Want: []Check{CacheStatus(missStored60)}},
				{Note: "§5.2.2.10: s-maxage forbids it", Advance: 70 * time.Second, Path: "/s", Header: []string{"Cache-Control: max-stale"},
					Want: []Check{HeaderContains("Cache-Status", "fwd=stale"), Body("v2")}, Runs: Runs{"/s": 2}},
			},
		},
		{
			Name:   "status/client-max-stale-ignored",
			Routes: []Route{a()},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Advance: 70 * time.Second, Path: "/a", Header: []string{"Cache-Control: max-stale"}, Want: []Check{HeaderContains("Cache-Status", "fwd=stale"), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
	}
}

// limitScenarios: bodies over Config.MaxBodyBytes stream through unstored.
func limitScenarios() []Scenario {
	cfg := func(c *core.Config) { c.MaxBodyBytes = 1024 }
	big := strings.Repeat("z", 4096)
	exact := strings.Repeat("e", 1024)
	return []Scenario{
		{
			Name:   "limit/over",
			Config: cfg,
			Routes: []Route{get("/a", respond(200, big, "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: with(notStored("too-large"), BodyLen(4096), Header("Cache-Control", "max-age=60")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: with(notStored("too-large"), Body(big)), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "limit/at",
			Config: cfg,
			Routes: []Route{get("/a", respond(200, exact, "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), BodyLen(1024)}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body(exact)}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "limit/declared-over",
			Config: cfg,
			Routes: []Route{get("/a", respond(200, big, "Cache-Control: max-age=60", "Content-Length: 4096"))},
			Steps: []Step{
				{Note: "a declared length over the limit passes through at once", Path: "/a", Status: 200,
					Want: with(notStored("too-large"), Body(big), Header("Content-Length", "4096")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: with(notStored("too-large"), Body(big)), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "limit/many-writes-over",
			Config: cfg,
			Routes: []Route{get("/a", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.WriteHeader(203)
				for i := 0; i < 20; i++ {
					_, _ = io.WriteString(w, strings.Repeat("x", 99)+"\n")
				}
			})},
			Steps: []Step{
				{Path: "/a", Status: 203, Want: with(notStored("too-large"), BodyLen(2000)), Runs: Runs{"/a": 1}},
			},
		},
	}
}

// streamScenarios: a handler that flushes streams through unstored.
func streamScenarios() []Scenario {
	chunks := []string{"data: 1\n\n", "data: 2\n\n", "data: 3\n\n"}
	return []Scenario{
		{
			Name:   "stream/flush",
			Routes: []Route{get("/a", streaming(200, chunks, "Cache-Control: max-age=60", "Content-Type: text/event-stream"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: with(notStored("streamed"), Body(strings.Join(chunks, "")), Flushed(), Header("Content-Type", "text/event-stream")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: with(notStored("streamed"), Flushed()), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "stream/flush-before-body",
			Routes: []Route{get("/a", streaming(202, nil, "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 202, Want: with(notStored("streamed"), Flushed(), Body("")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 202, Want: notStored("streamed"), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "stream/route-policy-applied",
			Routes: []Route{{Path: "/a", Policy: headers.Public(time.Minute), Handler: streaming(200, chunks)}},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: with(notStored("streamed"), Header("Cache-Control", "public, max-age=60"), Flushed()), Runs: Runs{"/a": 1}},
			},
		},
	}
}

// panicScenarios: a handler panic is never stored and reaches the framework's recovery.
func panicScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "panic/not-stored",
			Routes: []Route{get("/a", panicOn([]int{1}, 0, "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 500, Want: []Check{BodyNotContains("partial")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("v2")}, Runs: Runs{"/a": 2}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "panic/every-run",
			Routes: []Route{get("/a", panicOn([]int{1, 2, 3}, 0, "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 500, Want: []Check{BodyNotContains("partial")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 500, Want: []Check{BodyNotContains("partial")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "panic/head",
			Routes: []Route{get("/a", panicOn([]int{1}, 0, "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Method: http.MethodHead, Path: "/a", Status: 500, Runs: Runs{"/a": 1}},
				{Method: http.MethodHead, Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"/a": 2}},
			},
		},
	}
}

// errorScenarios: handler errors are passed on, stored only with explicit freshness.
func errorScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "error/500",
			Routes: []Route{get("/a", failOn([]int{1, 2}))},
			Steps: []Step{
				{Path: "/a", Status: 500, Want: with(notStored("status"), Body("down")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 500, Want: notStored("status"), Runs: Runs{"/a": 2}},
			},
		},
		{
			// RFC 9111 §3: the origin's explicit freshness covers its error too.
			Name:   "error/502-with-max-age-stored",
			Routes: []Route{get("/a", respond(502, "bad gateway", "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 502, Want: []Check{CacheStatus(missStored60), Body("bad gateway")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 502, Want: []Check{CacheStatus(hit60), Body("bad gateway")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			// A 5xx without explicit freshness is never stored, whatever the heuristic.
			Name:   "error/503-heuristic-never",
			Config: func(c *core.Config) { c.HeuristicFreshness = 0.1 },
			Routes: []Route{get("/a", respond(503, "busy", "Last-Modified: "+Epoch.Add(-10*time.Hour).Format(http.TimeFormat)))},
			Steps: []Step{
				{Path: "/a", Status: 503, Want: with(notStored("status"), Body("busy")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 503, Want: notStored("status"), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "error/stored-again-after-5xx",
			Routes: []Route{get("/a", failOn([]int{2}, "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60)}},
				{Do: purgeURL("/a", 1)},
				{Path: "/a", Status: 500, Want: notStored("status"), Runs: Runs{"/a": 2}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("v3")}, Runs: Runs{"/a": 3}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("v3")}, Runs: Runs{"/a": 3}},
			},
		},
	}
}

// keyScenarios: what selects an entry (docs/ARCHITECTURE.md, "Keys").
func keyScenarios() []Scenario {
	a := func() Route { return get("/a", versioned("Cache-Control: max-age=60")) }
	return []Scenario{
		{
			Name:   "key/query-order",
			Routes: []Route{a()},
			Steps: []Step{
				{Path: "/a?b=2&a=1", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/a?a=1&b=2", Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "key/query-differs",
			Routes: []Route{a()},
			Steps: []Step{
				{Path: "/a?x=1", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/a?x=2", Want: []Check{CacheStatus(missStored60), Body("v2")}, Runs: Runs{"/a": 2}},
				{Path: "/a", Want: []Check{CacheStatus(missStored60), Body("v3")}, Runs: Runs{"/a": 3}},
			},
		},
		{
			Name:   "key/config-ignore-query",
			Config: func(c *core.Config) { c.IgnoreQuery = []string{"utm_source"} },
			Routes: []Route{a()},
			Steps: []Step{
				{Path: "/a?id=1", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/a?utm_source=news&id=1", Want: []Check{CacheStatus(hit60)}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "key/route-ignore-query",
			Routes: []Route{{Path: "/a", Policy: headers.Public(time.Minute).IgnoreQuery("utm"), Handler: versioned()}},
			Steps: []Step{
				{Path: "/a?id=1", Want: []Check{CacheStatus(missStored60)}},
				{Note: "Policy.IgnoreQuery", Path: "/a?id=1&utm=x", Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "key/host",
			Routes: []Route{a()},
			Steps: []Step{
				{Path: "/a", Host: "one.example", Want: []Check{CacheStatus(missStored60)}},
				{Path: "/a", Host: "two.example", Want: []Check{CacheStatus(missStored60), Body("v2")}, Runs: Runs{"/a": 2}},
				{Note: "host names are case-insensitive", Path: "/a", Host: "ONE.example", Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "key/forwarded-host-untrusted",
			Routes: []Route{a()},
			Steps: []Step{
				{Path: "/a", Want: []Check{CacheStatus(missStored60)}},
				{Note: "an unkeyed forwarded host passes the cache by (it could be reflected)", Path: "/a", Header: []string{"X-Forwarded-Host: evil.example"},
					Want: []Check{CacheStatus("strata; fwd=bypass; detail=unkeyed-x-forwarded-host"), Body("v2")}, Runs: Runs{"/a": 2}},
				{Path: "/a", Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "key/range",
			Routes: []Route{a()},
			Steps: []Step{
				{Note: "a Range miss fills the whole entry (the handler sees no Range) and answers the range from it", Path: "/a",
					Header: []string{"Range: bytes=0-0"}, Status: 206,
					Want: []Check{CacheStatus(missStored60), Body("v"), Header("Content-Range", "bytes 0-0/2")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 1}},
				{Note: "a hit answers one range (RFC 9110 §14)", Path: "/a", Header: []string{"Range: bytes=0-0"}, Status: 206,
					Want: []Check{CacheStatus(hit60), Body("v"), Header("Content-Range", "bytes 0-0/2"), Header("Content-Length", "1")}, Runs: Runs{"/a": 1}},
				{Note: "a suffix range", Path: "/a", Header: []string{"Range: bytes=-1"}, Status: 206,
					Want: []Check{CacheStatus(hit60), Body("1"), Header("Content-Range", "bytes 1-1/2")}, Runs: Runs{"/a": 1}},
				{Note: "unsatisfiable (§15.5.17)", Path: "/a", Header: []string{"Range: bytes=5-"}, Status: 416,
					Want: []Check{CacheStatus(hit60), Header("Content-Range", "bytes */2")}, Runs: Runs{"/a": 1}},
				{Note: "If-Range with another ETag: the whole (§13.1.5)", Path: "/a", Header: []string{"Range: bytes=0-0", `If-Range: "other"`}, Status: 200,
					Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 1}},
				{Note: "several ranges: the whole (§14.2)", Path: "/a", Header: []string{"Range: bytes=0-0,1-1"}, Status: 200,
					Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 1}},
			},
		},
	}
}
