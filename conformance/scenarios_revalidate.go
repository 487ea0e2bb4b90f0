package conformance

import (
	"io"
	"net/http"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// conditionalScenarios: 304 and 412 from the cache (RFC 9110 §13.2.2), revalidation with the
// origin (RFC 9111 §4.3), and ETags on responses the cache does not store.
func conditionalScenarios() []Scenario {
	lastMod := httpDate(-time.Hour)
	return []Scenario{
		{
			Name:   "cond/if-none-match-hit",
			Routes: []Route{get("/a", respond(200, "tagged", "Cache-Control: max-age=60", "Content-Type: text/plain"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), HeaderPresent("Etag")}, Capture: []string{"Etag"}},
				{Path: "/a", Header: []string{"If-None-Match: {{Etag}}"}, Status: 304,
					Want: []Check{CacheStatus(hit60), Body(""), HeaderPresent("Etag"), HeaderAbsent("Content-Type"), HeaderAbsent("Content-Length")}, Runs: Runs{"/a": 1}},
				{Note: "weak comparison, in a list", Path: "/a", Header: []string{`If-None-Match: "nope", W/{{Etag}}`}, Status: 304, Runs: Runs{"/a": 1}},
				{Path: "/a", Header: []string{"If-None-Match: *"}, Status: 304, Runs: Runs{"/a": 1}},
				{Path: "/a", Header: []string{`If-None-Match: "other"`}, Status: 200, Want: []Check{Body("tagged")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "cond/if-match-412",
			Routes: []Route{get("/a", respond(200, "tagged", "Cache-Control: max-age=60", `Etag: "v1"`))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{Header("Etag", `"v1"`)}},
				{Path: "/a", Header: []string{`If-Match: "other"`}, Status: 412, Want: []Check{Body("")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Header: []string{`If-Match: "v1"`}, Status: 200, Want: []Check{Body("tagged")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "cond/handler-etag",
			Routes: []Route{get("/a", respond(200, "tagged", "Cache-Control: max-age=60", `Etag: "v1"`))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Header("Etag", `"v1"`)}},
				{Path: "/a", Header: []string{`If-None-Match: "v1"`}, Status: 304, Want: []Check{CacheStatus(hit60), Header("Etag", `"v1"`)}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "cond/if-modified-since",
			Routes: []Route{get("/a", respond(200, "dated", "Cache-Control: max-age=60", "Last-Modified: "+lastMod))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Header("Last-Modified", lastMod)}},
				{Path: "/a", Header: []string{"If-Modified-Since: " + httpDate(0)}, Status: 304, Want: []Check{CacheStatus(hit60), Body("")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Header: []string{"If-Modified-Since: " + httpDate(-2*time.Hour)}, Status: 200, Want: []Check{Body("dated")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name: "cond/client-validators-not-forwarded",
			Routes: []Route{get("/a", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				_, _ = io.WriteString(w, "inm="+r.Header.Get("If-None-Match")+" ims="+r.Header.Get("If-Modified-Since"))
			})},
			Steps: []Step{
				{Note: "the cache evaluates the client's conditions against what it stores", Path: "/a",
					Header: []string{`If-None-Match: "x"`, "If-Modified-Since: " + httpDate(0)}, Status: 200,
					Want: []Check{CacheStatus(missStored60), Body("inm= ims=")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("inm= ims=")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name: "cond/revalidated-304",
			Routes: []Route{get("/a", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=10, stale-if-error=60")
				w.Header().Set("Etag", `"v1"`)
				w.Header().Set("X-Run", r.Header.Get("If-None-Match"))
				if r.Header.Get("If-None-Match") == `"v1"` {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				_, _ = io.WriteString(w, "body1")
			})},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=10; stored"), Body("body1")}, Runs: Runs{"/a": 1}},
				{Note: "§4.3.1: the stale entry's validator goes to the origin; its 304 freshens the entry", Advance: 11 * time.Second, Path: "/a", Status: 200,
					Want: []Check{CacheStatus("strata; fwd=stale; fwd-status=304; ttl=10; stored"), Body("body1"), Header("X-Run", `"v1"`), Header("Age", "0")}, Runs: Runs{"/a": 2}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=10"), Body("body1")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "cond/uncached-private-304",
			Routes: []Route{get("/a", respond(200, "for alice", "Cache-Control: private"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: with(notStored("private"), HeaderPresent("Etag"), Body("for alice")), Capture: []string{"Etag"}, Runs: Runs{"/a": 1}},
				{Note: "on by default", Path: "/a", Header: []string{"If-None-Match: {{Etag}}"}, Status: 304,
					Want: with(notStored("private"), Body(""), HeaderPresent("Etag")), Runs: Runs{"/a": 2}},
				{Path: "/a", Header: []string{`If-None-Match: "other"`}, Status: 200, Want: []Check{Body("for alice")}, Runs: Runs{"/a": 3}},
			},
		},
		{
			Name:   "cond/uncached-private-policy-304",
			Routes: []Route{{Path: "/me", Policy: headers.Private(), Handler: respond(200, `{"user":"alice"}`, "Content-Type: application/json")}},
			Steps: []Step{
				{Path: "/me", Header: []string{"Authorization: Bearer alice"}, Status: 200,
					Want: with(notStored("private"), Header("Cache-Control", "private"), HeaderPresent("Etag"), Body(`{"user":"alice"}`)), Capture: []string{"Etag"}, Runs: Runs{"/me": 1}},
				{Note: "the default Config answers a matching If-None-Match with 304", Path: "/me", Header: []string{"Authorization: Bearer alice", "If-None-Match: {{Etag}}"}, Status: 304,
					Want: with(notStored("private"), Body(""), HeaderPresent("Etag"), Header("Cache-Control", "private"), HeaderAbsent("Content-Type")), Runs: Runs{"/me": 2}},
				{Note: "HEAD too", Method: "HEAD", Path: "/me", Header: []string{"Authorization: Bearer alice", "If-None-Match: {{Etag}}"}, Status: 304, Runs: Runs{"/me": 3}},
				{Note: "weak comparison (RFC 9110 §13.1.2)", Path: "/me", Header: []string{"Authorization: Bearer alice", "If-None-Match: W/{{Etag}}"}, Status: 304, Runs: Runs{"/me": 4}},
				{Note: "another body, another tag", Path: "/me", Header: []string{"Authorization: Bearer alice", `If-None-Match: "stale"`}, Status: 200, Want: []Check{Body(`{"user":"alice"}`)}, Runs: Runs{"/me": 5}},
			},
		},
		{
			Name:   "cond/uncached-handler-etag-304",
			Routes: []Route{get("/a", respond(200, "me", "Cache-Control: private, no-cache", `Etag: "me1"`))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: with(notStored("private"), Header("Etag", `"me1"`)), Runs: Runs{"/a": 1}},
				{Path: "/a", Header: []string{`If-None-Match: "me1"`}, Status: 304, Want: []Check{Body(""), Header("Etag", `"me1"`)}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "cond/uncached-etag-disabled",
			Config: func(c *core.Config) { c.DisableETagUncached = true },
			Routes: []Route{get("/a", respond(200, "for alice", "Cache-Control: private"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: with(notStored("private"), HeaderAbsent("Etag")), Runs: Runs{"/a": 1}},
				{Path: "/a", Header: []string{`If-None-Match: "anything"`}, Status: 200, Want: with(notStored("private"), HeaderAbsent("Etag"), Body("for alice")), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:    "cond/uncached-no-etag-exceptions",
			Flushes: true,
			Routes: []Route{
				get("/no-store", respond(200, "never kept", "Cache-Control: no-store")),
				get("/gzip", respond(200, "pretend-gzip", "Cache-Control: private", "Content-Encoding: gzip")),
				get("/404", respond(404, "nope", "Cache-Control: private")),
				get("/stream", streaming(200, []string{"a", "b"}, "Cache-Control: private")),
			},
			Steps: []Step{
				{Note: "no-store: nothing to revalidate", Path: "/no-store", Status: 200, Want: with(notStored("no-store"), HeaderAbsent("Etag"))},
				{Note: "an encoding a middleware in front may change", Path: "/gzip", Status: 200, Want: with(notStored("private"), HeaderAbsent("Etag"))},
				{Note: "only 200s", Path: "/404", Status: 404, Want: with(notStored("private"), HeaderAbsent("Etag"))},
				{Note: "streamed: sent before the body is known", Path: "/stream", Status: 200, Want: with(notStored("streamed"), HeaderAbsent("Etag"), Body("ab"))},
			},
		},
		{
			Name:   "cond/auto-etag-disabled",
			Config: func(c *core.Config) { c.DisableAutoETag = true },
			Routes: []Route{get("/a", respond(200, "x", "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), HeaderAbsent("Etag")}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), HeaderAbsent("Etag")}, Runs: Runs{"/a": 1}},
			},
		},
	}
}

// varyScenarios: secondary keys (RFC 9111 §4.1).
func varyScenarios() []Scenario {
	lang := func() http.HandlerFunc {
		return echoHeader("Accept-Language", "Cache-Control: max-age=60", "Vary: Accept-Language")
	}
	return []Scenario{
		{
			Name:   "vary/handler-vary",
			Routes: []Route{get("/a", lang())},
			Steps: []Step{
				{Path: "/a", Header: []string{"Accept-Language: en"}, Status: 200, Want: []Check{CacheStatus(missStored60), Body("accept-language=en"), Header("Vary", "Accept-Language")}},
				{Path: "/a", Header: []string{"Accept-Language: fr"}, Status: 200, Want: []Check{CacheStatus("strata; fwd=vary-miss; ttl=60; stored"), Body("accept-language=fr")}, Runs: Runs{"/a": 2}},
				{Path: "/a", Header: []string{"Accept-Language: en"}, Status: 200, Want: []Check{CacheStatus(hit60), Body("accept-language=en")}, Runs: Runs{"/a": 2}},
				{Path: "/a", Header: []string{"Accept-Language: fr"}, Status: 200, Want: []Check{CacheStatus(hit60), Body("accept-language=fr")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "vary/route-policy",
			Routes: []Route{{Path: "/a", Policy: headers.Public(time.Minute).Vary("X-Tenant"), Handler: echoHeader("X-Tenant")}},
			Steps: []Step{
				{Path: "/a", Header: []string{"X-Tenant: acme"}, Status: 200, Want: []Check{CacheStatus(missStored60), Header("Vary", "X-Tenant"), Body("x-tenant=acme")}},
				{Path: "/a", Header: []string{"X-Tenant: globex"}, Status: 200, Want: []Check{CacheStatus("strata; fwd=vary-miss; ttl=60; stored"), Body("x-tenant=globex")}, Runs: Runs{"/a": 2}},
				{Path: "/a", Header: []string{"X-Tenant: acme"}, Status: 200, Want: []Check{CacheStatus(hit60), Body("x-tenant=acme")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "vary/absent-field-is-a-variant",
			Routes: []Route{get("/a", lang())},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("accept-language=")}},
				{Path: "/a", Header: []string{"Accept-Language: de"}, Status: 200, Want: []Check{HeaderContains("Cache-Status", "fwd=vary-miss"), Body("accept-language=de")}, Runs: Runs{"/a": 2}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("accept-language=")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "vary/normalised",
			Routes: []Route{get("/a", lang())},
			Steps: []Step{
				{Path: "/a", Header: []string{"Accept-Language: en, fr"}, Status: 200, Want: []Check{CacheStatus(missStored60)}},
				{Note: "§4.1: values that mean the same select one variant", Path: "/a", Header: []string{"Accept-Language: EN,fr"}, Status: 200,
					Want: []Check{CacheStatus(hit60), Body("accept-language=en, fr")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "vary/max-variants",
			Config: func(c *core.Config) { c.MaxVariants = 2 },
			Routes: []Route{get("/a", lang())},
			Steps: []Step{
				{Path: "/a", Header: []string{"Accept-Language: a"}, Status: 200, Want: []Check{CacheStatus(missStored60)}},
				{Path: "/a", Header: []string{"Accept-Language: b"}, Status: 200, Want: []Check{HeaderContains("Cache-Status", "stored")}},
				{Note: "a full record lets its oldest variant go: junk values never lock a real one out", Path: "/a", Header: []string{"Accept-Language: c"}, Status: 200,
					Want: []Check{HeaderContains("Cache-Status", "stored"), Body("accept-language=c")}, Runs: Runs{"/a": 3}},
				{Path: "/a", Header: []string{"Accept-Language: c"}, Status: 200, Want: []Check{CacheStatus(hit60)}, Runs: Runs{"/a": 3}},
				{Path: "/a", Header: []string{"Accept-Language: b"}, Status: 200, Want: []Check{CacheStatus(hit60)}, Runs: Runs{"/a": 3}},
				{Note: "the URL never holds more than MaxVariants", Path: "/a", Header: []string{"Accept-Language: a"}, Status: 200,
					Want: []Check{HeaderContains("Cache-Status", "fwd=vary-miss"), HeaderContains("Cache-Status", "stored")}, Runs: Runs{"/a": 4}},
			},
		},
		{
			Name:   "vary/content-encoding-adds-accept-encoding",
			Routes: []Route{get("/a", respond(200, "gzipped?", "Cache-Control: max-age=60", "Content-Encoding: gzip"))},
			Steps: []Step{
				{Path: "/a", Header: []string{"Accept-Encoding: gzip"}, Status: 200, Want: []Check{CacheStatus(missStored60), HeaderContains("Vary", "Accept-Encoding")}},
				{Path: "/a", Header: []string{"Accept-Encoding: gzip"}, Status: 200, Want: []Check{CacheStatus(hit60)}, Runs: Runs{"/a": 1}},
				{Note: "a client that cannot decode gzip is not served it", Path: "/a", Status: 200, Want: []Check{HeaderContains("Cache-Status", "fwd=vary-miss")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "vary/purge-removes-every-variant",
			Routes: []Route{get("/a", lang())},
			Steps: []Step{
				{Path: "/a", Header: []string{"Accept-Language: en"}, Status: 200, Want: []Check{CacheStatus(missStored60)}},
				{Path: "/a", Header: []string{"Accept-Language: fr"}, Status: 200, Want: []Check{HeaderContains("Cache-Status", "stored")}},
				{Do: purgeURL("/a", 2)},
				{Path: "/a", Header: []string{"Accept-Language: en"}, Status: 200, Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"/a": 3}},
				{Path: "/a", Header: []string{"Accept-Language: fr"}, Status: 200, Want: []Check{HeaderContains("Cache-Status", "stored")}, Runs: Runs{"/a": 4}},
			},
		},
	}
}

// negativeScenarios: error answers kept without explicit freshness.
func negativeScenarios() []Scenario {
	const (
		miss10 = "strata; fwd=uri-miss; ttl=10; stored"
		hit10  = "strata; hit; ttl=10; detail=negative"
	)
	allRoutes := func(c *core.Config) { c.Negative.AllRoutes = true }
	return []Scenario{
		{
			Name:   "negative/needs-a-policy",
			Routes: []Route{get("/a", respond(404, "nope"))},
			Steps: []Step{
				{Note: "an error of a route without a policy may hang on an unkeyed request field: not kept", Path: "/a", Status: 404,
					Want: notStored("no-freshness"), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 404, Want: notStored("no-freshness"), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "negative/private-route-never",
			Config: allRoutes,
			Routes: []Route{{Path: "/a", Policy: headers.Private(), Handler: respond(404, "nope")}},
			Steps: []Step{
				{Note: "one user's 404 is never another's", Path: "/a", Status: 404, Want: notStored("private"), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 404, Want: notStored("private"), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "negative/no-store-route-never",
			Routes: []Route{{Path: "/a", Policy: headers.NoStore(), Handler: respond(404, "nope")}},
			Steps: []Step{
				{Path: "/a", Status: 404, Want: notStored("no-store"), Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "negative/404",
			Config: allRoutes,
			Routes: []Route{get("/a", respond(404, "nope"))},
			Steps: []Step{
				{Path: "/a", Status: 404, Want: []Check{CacheStatus(miss10), Body("nope")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 404, Want: []Check{CacheStatus(hit10), Body("nope")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "negative/404-expires",
			Config: allRoutes,
			Routes: []Route{get("/a", respond(404, "nope"))},
			Steps: []Step{
				{Path: "/a", Status: 404, Want: []Check{CacheStatus(miss10)}},
				{Advance: 9 * time.Second, Path: "/a", Status: 404, Want: []Check{CacheStatus("strata; hit; ttl=1; detail=negative")}, Runs: Runs{"/a": 1}},
				{Advance: 2 * time.Second, Path: "/a", Status: 404, Want: refetched(), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "negative/410",
			Config: allRoutes,
			Routes: []Route{get("/a", respond(410, "gone"))},
			Steps: []Step{
				{Path: "/a", Status: 410, Want: []Check{CacheStatus(miss10)}},
				{Path: "/a", Status: 410, Want: []Check{CacheStatus(hit10), Body("gone")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "negative/route-ttl",
			Routes: []Route{{Path: "/a", Policy: headers.Policy{}.NegativeTTL(30 * time.Second), Handler: respond(404, "nope")}},
			Steps: []Step{
				{Path: "/a", Status: 404, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=30; stored")}},
				{Path: "/a", Status: 404, Want: []Check{CacheStatus("strata; hit; ttl=30; detail=negative")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "negative/route-policy-not-applied-to-errors",
			Routes: []Route{{Path: "/a", Policy: headers.Public(time.Hour), Handler: respond(404, "nope")}},
			Steps: []Step{
				{Note: "a 404 is kept for the negative TTL, not the route's hour", Path: "/a", Status: 404, Want: []Check{CacheStatus(miss10), HeaderAbsent("Cache-Control")}},
				{Path: "/a", Status: 404, Want: []Check{CacheStatus(hit10)}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "negative/config-ttl",
			Config: func(c *core.Config) { c.Negative.TTL, c.Negative.AllRoutes = 5*time.Second, true },
			Routes: []Route{get("/a", respond(404, "nope"))},
			Steps: []Step{
				{Path: "/a", Status: 404, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=5; stored")}},
				{Path: "/a", Status: 404, Want: []Check{CacheStatus("strata; hit; ttl=5; detail=negative")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "negative/disabled",
			Config: func(c *core.Config) { c.Negative.TTL, c.Negative.AllRoutes = -1, true },
			Routes: []Route{get("/a", respond(404, "nope"))},
			Steps: []Step{
				{Path: "/a", Status: 404, Want: notStored("no-freshness"), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 404, Want: notStored("no-freshness"), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "negative/no-store-wins",
			Routes: []Route{get("/a", respond(404, "nope", "Cache-Control: no-store"))},
			Steps: []Step{
				{Path: "/a", Status: 404, Want: notStored("no-store"), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 404, Want: notStored("no-store"), Runs: Runs{"/a": 2}},
			},
		},
	}
}

// staleScenarios: stale-while-revalidate and stale-if-error (RFC 5861).
func staleScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "stale/while-revalidate",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=1, stale-while-revalidate=30"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=1; stored"), Body("v1")}},
				{Note: "stale served at once, refreshed after the answer", Advance: 5 * time.Second, Path: "/a", Status: 200,
					Want: []Check{CacheStatus("strata; hit; ttl=-4; detail=stale-while-revalidate"), Body("v1"), Header("Age", "5")}, Runs: Runs{"/a": 2}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=1"), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "stale/while-revalidate-route-policy",
			Routes: []Route{{Path: "/a", Policy: headers.Public(0).SMaxAge(time.Second).StaleWhileRevalidate(30 * time.Second), Handler: versioned()}},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=1; stored"), Header("Cache-Control", "public, max-age=0, s-maxage=1, stale-while-revalidate=30")}},
				{Advance: 3 * time.Second, Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=-2; detail=stale-while-revalidate"), Body("v1")}, Runs: Runs{"/a": 2}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=1"), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "stale/while-revalidate-window-over",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=1, stale-while-revalidate=30"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{Body("v1")}},
				{Advance: 40 * time.Second, Path: "/a", Status: 200, Want: with(refetched(), Body("v2")), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "stale/if-error-5xx",
			Routes: []Route{get("/a", failOn([]int{2}, "Cache-Control: max-age=1, stale-if-error=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=1; stored"), Body("v1")}},
				{Note: "the origin answers 500: the stale entry is served", Advance: 5 * time.Second, Path: "/a", Status: 200,
					Want: []Check{CacheStatus("strata; fwd=stale; fwd-status=500; ttl=-4; detail=stale-if-error"), Body("v1")}, Runs: Runs{"/a": 2}},
				{Note: "the origin is back", Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=stale; ttl=1; stored"), Body("v3")}, Runs: Runs{"/a": 3}},
			},
		},
		{
			Name:   "stale/if-error-panic",
			Routes: []Route{get("/a", panicOn([]int{2}, 0, "Cache-Control: max-age=1, stale-if-error=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{Body("v1")}},
				{Advance: 5 * time.Second, Path: "/a", Status: 200,
					Want: []Check{HeaderContains("Cache-Status", "detail=stale-if-error"), HeaderContains("Cache-Status", "fwd-status=500"), Body("v1")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "stale/if-error-window-over",
			Routes: []Route{get("/a", failOn([]int{2}, "Cache-Control: max-age=1, stale-if-error=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{Body("v1")}},
				{Advance: 70 * time.Second, Path: "/a", Status: 500, Want: with(notStored("status"), Body("down")), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "stale/must-revalidate-forbids-if-error",
			Routes: []Route{get("/a", failOn([]int{2}, "Cache-Control: max-age=1, must-revalidate, stale-if-error=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{Body("v1")}},
				{Note: "§5.2.2.2", Advance: 5 * time.Second, Path: "/a", Status: 500, Want: []Check{Body("down"), HeaderNotContains("Cache-Status", "stale-if-error")}, Runs: Runs{"/a": 2}},
			},
		},
	}
}
