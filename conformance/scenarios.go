package conformance

import (
	"net/http"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// Scenarios returns the suite, with fresh handlers. Names are "group/behaviour".
func Scenarios() []Scenario {
	var all []Scenario
	for _, group := range []func() []Scenario{
		storeScenarios, statusCodeScenarios, freshnessScenarios, headScenarios,
		conditionalScenarios, varyScenarios, negativeScenarios, staleScenarios,
		coalesceScenarios, purgeScenarios, unsafeScenarios, cacheStatusScenarios,
		limitScenarios, streamScenarios, panicScenarios, errorScenarios, keyScenarios, securityScenarios,
		bypassScenarios, revalidate304Scenarios,
	} {
		all = append(all, group()...)
	}
	return all
}

func get(path string, h http.HandlerFunc) Route { return Route{Path: path, Handler: h} }

// storeScenarios: what a shared cache may store (RFC 9111 §3).
func storeScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "store/max-age",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60", "Content-Type: text/plain"))},
			Steps: []Step{
				{Note: "miss", Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("v1"), Header("Content-Type", "text/plain")}, Runs: Runs{"/a": 1}},
				{Note: "hit", Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("v1"), Header("Content-Length", "2"), Header("Age", "0"), Header("Cache-Control", "max-age=60")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "store/no-freshness",
			Routes: []Route{get("/a", versioned())},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: with(notStored("no-freshness"), Body("v1")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: with(notStored("no-freshness"), Body("v2")), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "store/no-store",
			Routes: []Route{get("/a", versioned("Cache-Control: no-store, max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: with(notStored("no-store"), Header("Cache-Control", "no-store, max-age=60")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: with(notStored("no-store"), Body("v2")), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name: "store/must-understand",
			Routes: []Route{
				get("/a", versioned("Cache-Control: max-age=60, no-store, must-understand")),
				get("/moved", respond(302, "", "Cache-Control: max-age=60, must-understand", "Location: /a")),
			},
			Steps: []Step{
				{Note: "§5.2.2.3: a status the cache understands: no-store is ignored", Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("v1")}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 1}},
				{Note: "a status it does not understand: not stored", Path: "/moved", Status: 302, Want: notStored("status"), Runs: Runs{"/moved": 1}},
				{Path: "/moved", Status: 302, Want: notStored("status"), Runs: Runs{"/moved": 2}},
			},
		},
		{
			Name:   "store/private",
			Routes: []Route{get("/a", versioned("Cache-Control: private, max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: with(notStored("private"), Header("Cache-Control", "private, max-age=60")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: with(notStored("private"), Body("v2")), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "store/private-policy",
			Routes: []Route{{Path: "/a", Policy: headers.Private(), Handler: versioned()}},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: with(notStored("private"), Header("Cache-Control", "private")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: with(notStored("private"), Body("v2")), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name: "store/no-cache",
			Routes: []Route{get("/a", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "no-cache, max-age=60")
				w.Header().Set("Etag", `"v1"`)
				if r.Header.Get("If-None-Match") == `"v1"` {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				_, _ = w.Write([]byte("body1"))
			})},
			Steps: []Step{
				{Note: "§5.2.2.4: stored, but stale at once", Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=0; stored"), Body("body1")}, Runs: Runs{"/a": 1}},
				{Note: "every use is revalidated; the 304 serves the stored body", Path: "/a", Status: 200,
					Want: []Check{CacheStatus("strata; fwd=stale; fwd-status=304; ttl=0; stored"), Body("body1"), Header("Etag", `"v1"`)}, Runs: Runs{"/a": 2}},
				{Advance: 5 * time.Second, Path: "/a", Status: 200, Want: []Check{HeaderContains("Cache-Status", "fwd=stale; fwd-status=304"), Body("body1")}, Runs: Runs{"/a": 3}},
				{Note: "a client's own precondition is answered after the revalidation", Path: "/a", Header: []string{`If-None-Match: "v1"`},
					Status: http.StatusNotModified, Want: []Check{HeaderContains("Cache-Status", "fwd=stale; fwd-status=304")}, Runs: Runs{"/a": 4}},
			},
		},
		{
			Name:   "store/no-cache-new-body",
			Routes: []Route{get("/a", versioned("Cache-Control: no-cache"))},
			Steps: []Step{
				{Note: "the cache's own ETag is its validator", Path: "/a", Status: 200, Want: []Check{HeaderContains("Cache-Status", "stored"), Body("v1")}, Runs: Runs{"/a": 1}},
				{Note: "an origin that answers the revalidation in full replaces it", Path: "/a", Status: 200,
					Want: []Check{CacheStatus("strata; fwd=stale; ttl=0; stored"), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "store/no-cache-without-validator",
			Config: func(c *core.Config) { c.DisableAutoETag = true },
			Routes: []Route{get("/a", versioned("Cache-Control: no-cache, max-age=60"))},
			Steps: []Step{
				{Note: "nothing to revalidate with: not stored", Path: "/a", Status: 200, Want: notStored("no-cache"), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: with(notStored("no-cache"), Body("v2")), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "store/private-field-stripped",
			Routes: []Route{get("/a", versioned(`Cache-Control: max-age=60, private="X-User"`, "X-User: alice"))},
			Steps: []Step{
				{Note: "the requesting user still gets the field", Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Header("X-User", "alice")}, Runs: Runs{"/a": 1}},
				{Note: "the stored response has none", Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), HeaderAbsent("X-User"), Body("v1")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "store/set-cookie",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60", "Set-Cookie: sid=1"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: with(notStored("set-cookie"), Header("Set-Cookie", "sid=1")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: with(notStored("set-cookie"), Header("Set-Cookie", "sid=1"), Body("v2")), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "store/set-cookie-private-qualified",
			Routes: []Route{get("/a", versioned(`Cache-Control: max-age=60, private="Set-Cookie"`, "Set-Cookie: sid=1"))},
			Steps: []Step{
				{Note: "the requesting user still gets the cookie", Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Header("Set-Cookie", "sid=1")}, Runs: Runs{"/a": 1}},
				{Note: "nobody else does", Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), HeaderAbsent("Set-Cookie"), Body("v1")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "store/vary-star",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60", "Vary: *"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: with(notStored("vary-star"), Header("Vary", "*")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: with(notStored("vary-star"), Body("v2")), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "store/authorization",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60"))},
			Steps: []Step{
				{Note: "§3.5: not stored without public, s-maxage or must-revalidate", Path: "/a", Header: []string{"Authorization: Bearer alice"}, Status: 200,
					Want: with(notStored("authorization"), HeaderContains("Cache-Status", "fwd=bypass")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "store/authorization-public",
			Routes: []Route{get("/a", versioned("Cache-Control: public, max-age=60"))},
			Steps: []Step{
				{Path: "/a", Header: []string{"Authorization: Bearer alice"}, Status: 200, Want: []Check{CacheStatus("strata; fwd=bypass; ttl=60; stored")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 1}},
				{Note: "credentials never select a stored answer", Path: "/a", Header: []string{"Authorization: Bearer bob"}, Status: 200,
					Want: []Check{HeaderContains("Cache-Status", "fwd=bypass"), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "store/authorization-s-maxage",
			Routes: []Route{get("/a", versioned("Cache-Control: s-maxage=60"))},
			Steps: []Step{
				{Path: "/a", Header: []string{"Authorization: Bearer alice"}, Status: 200, Want: []Check{CacheStatus("strata; fwd=bypass; ttl=60; stored")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "store/request-no-store",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60"))},
			Steps: []Step{
				{Note: "§5.2.1.5", Path: "/a", Header: []string{"Cache-Control: no-store"}, Status: 200, Want: notStored("no-store"), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("v2")}, Runs: Runs{"/a": 2}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "store/empty-body",
			Routes: []Route{get("/a", respond(200, "", "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body(""), Header("Content-Length", "0")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "store/content-type-sniffed",
			Routes: []Route{get("/a", respond(200, "<html><body>hi</body></html>", "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Header("Content-Type", "text/html; charset=utf-8")}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Header("Content-Type", "text/html; charset=utf-8"), Body("<html><body>hi</body></html>")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name: "store/hop-by-hop",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60", "Connection: X-Hop", "X-Hop: 1",
				"Keep-Alive: timeout=5", "Proxy-Authenticate: Basic", "X-Kept: yes"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60)}},
				{Note: "RFC 9110 §7.6.1", Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), HeaderAbsent("Connection"), HeaderAbsent("X-Hop"),
					HeaderAbsent("Keep-Alive"), HeaderAbsent("Proxy-Authenticate"), Header("X-Kept", "yes")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name: "store/repeated-fields",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60", "Link: </a.css>; rel=preload",
				"Link: </b.js>; rel=preload", "X-Multi: one, two", "X-Multi: three"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), HeaderValues("Link", "</a.css>; rel=preload", "</b.js>; rel=preload")}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), HeaderValues("Link", "</a.css>; rel=preload", "</b.js>; rel=preload"),
					HeaderValues("X-Multi", "one, two", "three")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "store/post-not-cached",
			Routes: []Route{{Method: http.MethodPost, Path: "/a", Handler: versioned("Cache-Control: max-age=60")}},
			Steps: []Step{
				{Method: http.MethodPost, Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=method"), Body("v1")}, Runs: Runs{"/a": 1}},
				{Method: http.MethodPost, Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=method"), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
	}
}

// statusCodeScenarios: which statuses are stored with explicit freshness (RFC 9111 §3).
func statusCodeScenarios() []Scenario {
	stored := func(name string, status int, body string, fields []string, hitChecks ...Check) Scenario {
		return Scenario{
			Name:   name,
			Routes: []Route{get("/a", respond(status, body, append([]string{"Cache-Control: max-age=60"}, fields...)...))},
			Steps: []Step{
				{Path: "/a", Status: status, Want: []Check{CacheStatus(missStored60)}, Runs: Runs{"/a": 1}},
				{Path: "/a", Status: status, Want: append([]Check{CacheStatus(hit60), Body(body)}, hitChecks...), Runs: Runs{"/a": 1}},
			},
		}
	}
	never := func(name string, status int, reason string, fields ...string) Scenario {
		return Scenario{
			Name:   name,
			Routes: []Route{get("/a", respond(status, "x", fields...))},
			Steps: []Step{
				{Path: "/a", Status: status, Want: with(notStored(reason), Body("x")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: status, Want: notStored(reason), Runs: Runs{"/a": 2}},
			},
		}
	}
	return []Scenario{
		stored("status/201-explicit", 201, "created", nil),
		stored("status/203-explicit", 203, "transformed", nil),
		stored("status/204-explicit", 204, "", nil, HeaderAbsent("Content-Length")),
		stored("status/301-explicit", 301, "moved", []string{"Location: /b"}, Header("Location", "/b")),
		stored("status/302-explicit", 302, "found", []string{"Location: /c"}, Header("Location", "/c")),
		stored("status/404-explicit", 404, "gone", nil),
		// RFC 9111 §3: any final status may be stored with explicit freshness; a 5xx only so.
		stored("status/500-explicit", 500, "down", nil),
		stored("status/503-explicit", 503, "busy", []string{"Retry-After: 5"}, Header("Retry-After", "5")),
		stored("status/599-explicit", 599, "unknown", nil),
		never("status/500-no-freshness", 500, "status"),
		never("status/501-no-freshness", 501, "status", "Last-Modified: "+Epoch.Add(-10*time.Hour).Format(http.TimeFormat)),
		never("status/206-never", 206, "status", "Cache-Control: max-age=60", "Content-Range: bytes 0-0/10"),
		never("status/400-no-freshness", 400, "no-freshness"),
	}
}

// freshnessScenarios: freshness lifetime and age (RFC 9111 §4.2).
func freshnessScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "fresh/age",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Header("Age", "0")}},
				{Advance: 10 * time.Second, Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=50"), Header("Age", "10"), Body("v1")}, Runs: Runs{"/a": 1}},
				{Advance: 49 * time.Second, Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=1"), Header("Age", "59")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "fresh/expired-refetched",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60)}},
				{Advance: 61 * time.Second, Path: "/a", Status: 200, Want: with(refetched(), Body("v2")), Runs: Runs{"/a": 2}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "fresh/heuristic-off-by-default",
			Routes: []Route{get("/a", versioned("Last-Modified: "+Epoch.Add(-10*time.Hour).Format(http.TimeFormat)))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: notStored("no-freshness"), Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "fresh/heuristic",
			Config: func(c *core.Config) { c.HeuristicFreshness = 0.1 },
			Routes: []Route{
				get("/a", versioned("Last-Modified: "+Epoch.Add(-10*time.Hour).Format(http.TimeFormat))),
				get("/old", versioned("Last-Modified: "+Epoch.Add(-1000*24*time.Hour).Format(http.TimeFormat))),
				get("/nostore", versioned("Cache-Control: no-store", "Last-Modified: "+Epoch.Add(-10*time.Hour).Format(http.TimeFormat))),
			},
			Steps: []Step{
				{Note: "§4.2.2: a tenth of the 10 h since Last-Modified", Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=3600; stored"), Body("v1")}},
				{Advance: 3599 * time.Second, Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=1"), Body("v1"), HeaderAbsent("Warning")}, Runs: Runs{"/a": 1}},
				{Note: "stale: revalidated with the Last-Modified", Advance: 2 * time.Second, Path: "/a", Status: 200,
					Want: []Check{HeaderContains("Cache-Status", "fwd=stale"), Body("v2")}, Runs: Runs{"/a": 2}},
				{Note: "capped at HeuristicMax (24h)", Path: "/old", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=86400; stored")}},
				{Note: "only what nothing else keeps out", Path: "/nostore", Status: 200, Want: notStored("no-store")},
			},
		},
		{
			Name:   "fresh/s-maxage-over-max-age",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=10, s-maxage=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Header("Cache-Control", "max-age=10, s-maxage=60")}},
				{Note: "§4.2.1: a shared cache uses s-maxage", Advance: 30 * time.Second, Path: "/a", Status: 200,
					Want: []Check{CacheStatus("strata; hit; ttl=30"), Header("Cache-Control", "max-age=10, s-maxage=60")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "fresh/route-policy",
			Routes: []Route{{Path: "/a", Policy: headers.Public(10 * time.Second).SMaxAge(time.Minute), Handler: versioned()}},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Header("Cache-Control", "public, max-age=10, s-maxage=60")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Header("Cache-Control", "public, max-age=10, s-maxage=60"), Body("v1")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "fresh/route-policy-handler-wins",
			Routes: []Route{{Path: "/a", Policy: headers.Public(time.Minute), Handler: versioned("Cache-Control: no-store")}},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: with(notStored("no-store"), Header("Cache-Control", "no-store")), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: notStored("no-store"), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "fresh/route-policy-cdn",
			Routes: []Route{{Path: "/a", Policy: headers.Public(10 * time.Second).CDNMaxAge(10 * time.Minute), Handler: versioned()}},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=10; stored"), Header("Cdn-Cache-Control", "public, max-age=600"), Header("Cache-Control", "public, max-age=10")}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=10"), Header("Cdn-Cache-Control", "public, max-age=600")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "fresh/immutable-policy",
			Routes: []Route{{Path: "/a", Policy: headers.Immutable(time.Hour), Handler: versioned()}},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=3600; stored"), Header("Cache-Control", "public, max-age=3600, immutable")}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=3600")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "fresh/expires",
			Routes: []Route{get("/a", versioned("Date: "+httpDate(0), "Expires: "+httpDate(time.Minute)))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60)}},
				{Advance: 30 * time.Second, Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=30"), Body("v1")}, Runs: Runs{"/a": 1}},
				{Note: "the origin sends the same dates again: expired on arrival (§4.2.3 apparent age), so not stored", Advance: 31 * time.Second, Path: "/a", Status: 200,
					Want: with(notStored("no-freshness"), Body("v2")), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "fresh/expires-invalid",
			Routes: []Route{get("/a", versioned("Expires: 0"))},
			Steps: []Step{
				{Note: "§5.3: an invalid Expires means already expired", Path: "/a", Status: 200, Want: notStored("no-freshness"), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: notStored("no-freshness"), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "fresh/max-age-over-expires",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=30", "Date: "+httpDate(0), "Expires: "+httpDate(time.Hour)))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=30; stored")}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=30")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "fresh/upstream-age",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60", "Age: 20"))},
			Steps: []Step{
				{Note: "§4.2.3: the Age the origin sent counts", Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=40; stored"), Header("Age", "20")}},
				{Advance: 10 * time.Second, Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=30"), Header("Age", "30")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "fresh/apparent-age",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60", "Date: "+httpDate(-30*time.Second)))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=30; stored")}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=30"), Header("Age", "30")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "fresh/max-age-zero",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=0"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: notStored("no-freshness"), Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: with(notStored("no-freshness"), Body("v2")), Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "fresh/must-revalidate",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=1, must-revalidate, stale-while-revalidate=30"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=1; stored")}},
				{Note: "§5.2.2.2: never served stale", Advance: 5 * time.Second, Path: "/a", Status: 200, Want: with(refetched(), Body("v2")), Runs: Runs{"/a": 2}},
			},
		},
	}
}

// headScenarios: HEAD is served from the GET entry, and a HEAD miss fills it.
func headScenarios() []Scenario {
	methodBody := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("method=" + r.Method))
	}
	return []Scenario{
		{
			Name:   "head/served-from-get",
			Routes: []Route{get("/a", respond(200, "hello", "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("hello")}},
				{Method: http.MethodHead, Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body(""), Header("Content-Length", "5")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "head/miss-fills-get",
			Routes: []Route{get("/a", methodBody)},
			Steps: []Step{
				{Method: http.MethodHead, Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("")}, Runs: Runs{"/a": 1}},
				{Note: "the handler ran as GET", Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("method=GET")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "head/negative",
			Config: func(c *core.Config) { c.Negative.AllRoutes = true },
			Routes: []Route{get("/a", respond(404, "nope"))},
			Steps: []Step{
				{Method: http.MethodHead, Path: "/a", Status: 404, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=10; stored"), Body("")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 404, Want: []Check{CacheStatus("strata; hit; ttl=10; detail=negative"), Body("nope")}, Runs: Runs{"/a": 1}},
			},
		},
	}
}
