package conformance

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// Security scenarios (issue 12): the attacks of the security suite that an adapter can get
// wrong, replayed through every framework. Each passes only when the attack is defeated.
// core/security_test.go has the same attacks over real HTTP, and those that need the cache's
// internals (forced collisions, corrupt tier values, Redis key counts).

// Cache-Status checks of the security scenarios.
var (
	isHit   = HeaderContains("Cache-Status", "; hit")
	noHit   = HeaderNotContains("Cache-Status", "; hit")
	bypass  = HeaderContains("Cache-Status", "fwd=bypass")
	stored  = HeaderContains("Cache-Status", "; stored")
	nothing = HeaderNotContains("Cache-Status", "; stored")
)

// cookie returns the value of the request cookie name, or "".
func cookie(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

// public answers text(r) with Cache-Control: public, max-age=60.
func public(text func(r *http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = io.WriteString(w, text(r))
	}
}

// acceptsCoding reports whether Accept-Encoding lists coding with a non-zero weight.
func acceptsCoding(r *http.Request, coding string) bool {
	for _, line := range r.Header.Values("Accept-Encoding") {
		for _, el := range strings.Split(line, ",") {
			tok, params, _ := strings.Cut(el, ";")
			if !strings.EqualFold(strings.TrimSpace(tok), coding) {
				continue
			}
			k, v, _ := strings.Cut(strings.TrimSpace(params), "=")
			v = strings.TrimSpace(v)
			if strings.EqualFold(strings.TrimSpace(k), "q") && v != "" && strings.Trim(v, "0.") == "" {
				return false
			}
			return true
		}
	}
	return false
}

func securityScenarios() []Scenario {
	var all []Scenario
	all = append(all, securityHeaderScenarios()...)
	all = append(all, securityKeyScenarios()...)
	all = append(all, securityUnkeyedScenarios()...)
	all = append(all, securityVaryScenarios()...)
	all = append(all, securityNegativeScenarios()...)
	return all
}

// securityHeaderScenarios: header map keys written in lower case must not slip past the
// storage rules.
func securityHeaderScenarios() []Scenario {
	return []Scenario{
		{
			Name: "security/noncanonical-set-cookie",
			Routes: []Route{{Path: "/account", Policy: headers.Public(time.Minute), Handler: func(w http.ResponseWriter, r *http.Request) {
				if u := cookie(r, "user"); u != "" {
					w.Header()["set-cookie"] = []string{"session=" + u}
					_, _ = io.WriteString(w, "welcome "+u)
					return
				}
				_, _ = io.WriteString(w, "welcome guest")
			}}},
			Steps: []Step{
				{Note: "alice logs in", Path: "/account", Header: []string{"Cookie: user=alice"}, Status: 200, Want: []Check{Body("welcome alice")}, Runs: Runs{"/account": 1}},
				{Note: "the next client never gets alice's cookie", Path: "/account", Status: 200,
					Want: []Check{Body("welcome guest"), HeaderNotContains("Set-Cookie", "session=alice"), noHit}, Runs: Runs{"/account": 2}},
			},
		},
		{
			Name: "security/noncanonical-cache-control",
			Routes: []Route{{Path: "/account", Policy: headers.Public(time.Minute), Handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header()["cache-control"] = []string{"private"}
				_, _ = io.WriteString(w, "account of "+cookie(r, "user"))
			}}},
			Steps: []Step{
				{Path: "/account", Header: []string{"Cookie: user=alice"}, Status: 200, Want: []Check{Body("account of alice")}, Runs: Runs{"/account": 1}},
				{Note: "private: not stored under the public route policy", Path: "/account", Header: []string{"Cookie: user=bob"}, Status: 200,
					Want: []Check{Body("account of bob"), noHit}, Runs: Runs{"/account": 2}},
			},
		},
	}
}

// securityKeyScenarios: keys that separate what handlers separate.
func securityKeyScenarios() []Scenario {
	first := public(func(r *http.Request) string {
		if v := r.URL.Query()["a"]; len(v) > 0 {
			return v[0]
		}
		return "none"
	})
	echo := func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "raw=%s utm=%s", r.URL.RawQuery, r.URL.Query().Get("utm_source"))
	}
	ignoreSteps := []Step{
		{Note: "the ignored parameter never reaches the handler", Path: "/p?utm_source=%3Cscript%3E&id=1", Status: 200,
			Want: []Check{BodyNotContains("script"), BodyNotContains("utm_source"), BodyContains("id=1")}, Runs: Runs{"/p": 1}},
		{Path: "/p?id=1", Status: 200, Want: []Check{isHit, BodyNotContains("script"), BodyContains("id=1")}, Runs: Runs{"/p": 1}},
	}
	return []Scenario{
		{
			Name:   "security/repeated-query-order",
			Routes: []Route{get("/q", first)},
			Steps: []Step{
				{Path: "/q?a=1&a=2", Status: 200, Want: []Check{Body("1")}, Runs: Runs{"/q": 1}},
				{Note: "a repeated parameter keeps its order in the key", Path: "/q?a=2&a=1", Status: 200, Want: []Check{Body("2")}, Runs: Runs{"/q": 2}},
				{Path: "/q?a=1&b=2", Status: 200, Want: []Check{Body("1")}, Runs: Runs{"/q": 3}},
				{Note: "distinct names still share an entry", Path: "/q?b=2&a=1", Status: 200, Want: []Check{CacheStatus(hit60), Body("1")}, Runs: Runs{"/q": 3}},
			},
		},
		{
			Name:   "security/ignore-query-config",
			Config: func(c *core.Config) { c.IgnoreQuery = []string{"utm_source"} },
			Routes: []Route{get("/p", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=60")
				echo(w, r)
			})},
			Steps: ignoreSteps,
		},
		{
			Name:   "security/ignore-query-route",
			Routes: []Route{{Path: "/p", Policy: headers.Public(time.Minute).IgnoreQuery("utm_source"), Handler: echo}},
			Steps:  ignoreSteps,
		},
		{
			Name:   "security/trust-forwarded-host",
			Config: func(c *core.Config) { c.TrustForwardedHost = true },
			Routes: []Route{get("/t", public(func(r *http.Request) string {
				return "host=" + r.Host + " fwd=" + r.Header.Get("X-Forwarded-Host")
			}))},
			Steps: []Step{
				{Path: "/t", Host: "a.com", Header: []string{"X-Forwarded-Host: x.com"}, Status: 200, Want: []Check{Body("host=a.com fwd=x.com")}, Runs: Runs{"/t": 1}},
				{Note: "Host stays in the key", Path: "/t", Host: "b.com", Header: []string{"X-Forwarded-Host: x.com"}, Status: 200, Want: []Check{Body("host=b.com fwd=x.com")}, Runs: Runs{"/t": 2}},
				{Path: "/t", Host: "a.com", Header: []string{"X-Forwarded-Host: x.com"}, Status: 200, Want: []Check{CacheStatus(hit60), Body("host=a.com fwd=x.com")}, Runs: Runs{"/t": 2}},
				{Note: "an invalid forwarded host is passed through", Path: "/t", Host: "a.com", Header: []string{"X-Forwarded-Host: evil.com/<x>"}, Status: 200, Want: []Check{bypass, nothing}, Runs: Runs{"/t": 3}},
				{Note: "and not stored", Path: "/t", Host: "a.com", Header: []string{"X-Forwarded-Host: evil.com/<x>"}, Status: 200, Want: []Check{bypass, noHit, nothing}, Runs: Runs{"/t": 4}},
			},
		},
	}
}

// securityUnkeyedScenarios: request fields that change a response without a Vary, and request
// bodies, bypass the cache.
func securityUnkeyedScenarios() []Scenario {
	var out []Scenario
	for _, field := range []string{"X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Original-URL", "X-Rewrite-URL", "X-HTTP-Method-Override"} {
		out = append(out, Scenario{
			Name:   "security/unkeyed-" + strings.ToLower(field),
			Routes: []Route{get("/page", public(func(r *http.Request) string { return "value=" + r.Header.Get(field) }))},
			Steps: []Step{
				{Note: "passed through, neither looked up nor stored", Path: "/page", Header: []string{field + ": evil"}, Status: 200,
					Want: []Check{bypass, HeaderContains("Cache-Status", "detail=unkeyed-"+strings.ToLower(field)), noHit, nothing}, Runs: Runs{"/page": 1}},
				{Path: "/page", Status: 200, Want: []Check{BodyNotContains("evil"), Body("value="), stored}, Runs: Runs{"/page": 2}},
				{Path: "/page", Status: 200, Want: []Check{CacheStatus(hit60), Body("value=")}, Runs: Runs{"/page": 2}},
			},
		})
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		out = append(out, Scenario{
			Name: "security/request-body-" + strings.ToLower(method),
			Routes: []Route{get("/b", public(func(r *http.Request) string {
				b, _ := io.ReadAll(r.Body)
				return "body=" + string(b)
			}))},
			Steps: []Step{
				{Method: method, Path: "/b", Send: "evil", Status: 200, Want: []Check{bypass, HeaderContains("Cache-Status", "detail=request-body"), nothing}, Runs: Runs{"/b": 1}},
				{Path: "/b", Status: 200, Want: []Check{BodyNotContains("evil"), Body("body="), stored}, Runs: Runs{"/b": 2}},
				{Path: "/b", Status: 200, Want: []Check{CacheStatus(hit60), Body("body=")}, Runs: Runs{"/b": 2}},
			},
		})
	}
	return out
}

// securityVaryScenarios: Vary normalisation by grammar, and variant slots that evict.
func securityVaryScenarios() []Scenario {
	coded := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Vary", "Accept-Encoding")
		switch {
		case acceptsCoding(r, "dcz"):
			w.Header().Set("Content-Encoding", "dcz")
			_, _ = io.WriteString(w, "DCZ")
		case acceptsCoding(r, "compress"):
			w.Header().Set("Content-Encoding", "compress")
			_, _ = io.WriteString(w, "COMPRESS")
		default:
			_, _ = io.WriteString(w, "PLAIN")
		}
	}
	exact := func(field, first, second string) Scenario {
		return Scenario{
			Name: "security/vary-exact-" + strings.ToLower(field),
			Routes: []Route{get("/v", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=60")
				w.Header().Set("Vary", field)
				_, _ = io.WriteString(w, r.Header.Get(field))
			})},
			Steps: []Step{
				{Path: "/v", Header: []string{field + ": " + first}, Status: 200, Want: []Check{Body(first)}, Runs: Runs{"/v": 1}},
				{Note: "a field without a list grammar is compared exactly", Path: "/v", Header: []string{field + ": " + second}, Status: 200, Want: []Check{Body(second)}, Runs: Runs{"/v": 2}},
				{Path: "/v", Header: []string{field + ": " + first}, Status: 200, Want: []Check{isHit, Body(first)}, Runs: Runs{"/v": 2}},
			},
		}
	}
	slots := Scenario{
		Name:   "security/vary-slots-evict",
		Config: func(c *core.Config) { c.MaxVariants = 4 },
		Routes: []Route{get("/home", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			w.Header().Set("Vary", "User-Agent")
			_, _ = io.WriteString(w, "ua="+r.Header.Get("User-Agent"))
		})},
	}
	for i := 0; i < 10; i++ {
		slots.Steps = append(slots.Steps, Step{Note: "junk", Path: "/home", Header: []string{fmt.Sprintf("User-Agent: junk-%d", i)}, Status: 200, Runs: Runs{"/home": i + 1}})
	}
	slots.Steps = append(slots.Steps,
		Step{Path: "/home", Header: []string{"User-Agent: real"}, Status: 200, Want: []Check{Body("ua=real")}, Runs: Runs{"/home": 11}},
		Step{Note: "the real variant evicted a junk one", Path: "/home", Header: []string{"User-Agent: real"}, Status: 200, Want: []Check{isHit, Body("ua=real")}, Runs: Runs{"/home": 11}},
	)
	ae := func(v string) []string { return []string{"Accept-Encoding: " + v} }
	return []Scenario{
		{
			Name:   "security/accept-encoding-codings",
			Routes: []Route{get("/asset", coded)},
			Steps: []Step{
				{Path: "/asset", Header: ae("dcz"), Status: 200, Want: []Check{Body("DCZ"), Header("Content-Encoding", "dcz")}, Runs: Runs{"/asset": 1}},
				{Path: "/asset", Header: ae("gzip"), Status: 200, Want: []Check{Body("PLAIN"), HeaderAbsent("Content-Encoding")}, Runs: Runs{"/asset": 2}},
				{Note: "compress is a variant of its own", Path: "/asset", Header: ae("compress"), Status: 200, Want: []Check{Body("COMPRESS"), Header("Content-Encoding", "compress")}, Runs: Runs{"/asset": 3}},
				{Note: "identity never gets an encoded body", Path: "/asset", Header: ae("identity"), Status: 200, Want: []Check{Body("PLAIN"), HeaderAbsent("Content-Encoding")}},
				{Path: "/asset", Header: ae("gzip, compress"), Status: 200, Want: []Check{Body("COMPRESS"), Header("Content-Encoding", "compress")}},
				{Path: "/asset", Header: ae("dcz;q=0, gzip"), Status: 200, Want: []Check{Body("PLAIN"), HeaderAbsent("Content-Encoding")}},
			},
		},
		exact("User-Agent", "Foo  Bar", "Foo Bar"),
		exact("Cookie", "a=1, b=2", "a=1,b=2"),
		slots,
	}
}

// securityNegativeScenarios: negative caching never crosses a user or an unkeyed input.
func securityNegativeScenarios() []Scenario {
	return []Scenario{
		{
			Name: "security/negative-private-route",
			Routes: []Route{{Path: "/orders", Policy: headers.Private(), Handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, "no order for "+cookie(r, "user"))
			}}},
			Steps: []Step{
				{Path: "/orders", Header: []string{"Cookie: user=alice"}, Status: 404, Want: []Check{Body("no order for alice")}, Runs: Runs{"/orders": 1}},
				{Note: "alice's 404 is not bob's", Path: "/orders", Header: []string{"Cookie: user=bob"}, Status: 404, Want: []Check{Body("no order for bob"), noHit}, Runs: Runs{"/orders": 2}},
			},
		},
		{
			Name: "security/negative-no-policy",
			Routes: []Route{get("/api", func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Api-Version") == "2" {
					w.WriteHeader(http.StatusNotFound)
					_, _ = io.WriteString(w, "v2 not found")
					return
				}
				_, _ = io.WriteString(w, "ok")
			})},
			Steps: []Step{
				{Path: "/api", Header: []string{"X-Api-Version: 2"}, Status: 404, Want: []Check{Body("v2 not found")}, Runs: Runs{"/api": 1}},
				{Note: "an error answer without freshness or a route policy is not stored", Path: "/api", Status: 200, Want: []Check{Body("ok")}, Runs: Runs{"/api": 2}},
			},
		},
		{
			Name:   "security/negative-route-policy",
			Routes: []Route{{Path: "/item", Policy: headers.Public(time.Minute), Handler: respond(http.StatusNotFound, "missing")}},
			Steps: []Step{
				{Path: "/item", Status: 404, Want: []Check{Body("missing")}, Runs: Runs{"/item": 1}},
				{Note: "a route policy keeps negative caching", Path: "/item", Status: 404, Want: []Check{CacheStatus("strata; hit; ttl=10; detail=negative"), Body("missing")}, Runs: Runs{"/item": 1}},
			},
		},
	}
}
