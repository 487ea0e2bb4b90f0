package core

// The security attack suite (issue 12): one named test per attack, each driven over real
// HTTP (httptest servers, net/http clients) and run on L1 alone and with a Redis L2. Every
// test states the attack it replays and passes only when the attack is defeated.
//
// The forced-collision and trusted-header tests use a hook and a Config field that do not
// exist yet; they live in security_collision_test.go behind the strata_collision build tag.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/headers"
	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store"
)

// ---- one cache per tier setup ----

// secTier is one tier setup of a security test: "l1" (the in-process tier alone) or
// "redis" (L1 plus a Redis L2 on a redis-server of the test's own).
type secTier struct {
	name string
	rdb  *redis.Client // nil for "l1"
}

// secNamespaces makes every Redis namespace of the suite unique.
var secNamespaces atomic.Int64

// secTiers runs fn as one subtest per tier setup. The redis subtest is skipped or failed by
// redistest's own rule (STRATA_REQUIRE_REDIS) when redis-server is missing.
func secTiers(t *testing.T, fn func(t *testing.T, tier secTier)) {
	t.Helper()
	t.Run("l1", func(t *testing.T) { fn(t, secTier{name: "l1"}) })
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		if srv == nil {
			return
		}
		fn(t, secTier{name: "redis", rdb: srv.Client(t)})
	})
}

// redis reports whether the tier has an L2.
func (tr secTier) redis() bool { return tr.rdb != nil }

// config completes cfg for the tier: a frozen clock, no jitter and no early refresh (so
// Cache-Status ttl values are exact), and, for "redis", the client and a namespace of its own
// unless cfg names one (caches given one namespace form a fleet).
func (tr secTier) config(t testing.TB, cfg Config) Config {
	if cfg.Clock == nil {
		cfg.Clock = newClock().Now
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = -1
	}
	if cfg.Beta == 0 {
		cfg.Beta = -1
	}
	if tr.rdb != nil {
		if cfg.Namespace == "" {
			cfg.Namespace = fmt.Sprintf("sec%d-%d", secNamespaces.Add(1), time.Now().UnixNano())
		}
		cfg = withRedis(t, cfg, tr.rdb, redisOpts{Timeout: slowTolerant})
	}
	return cfg
}

// cache builds a cache for the tier (closed by t.Cleanup).
func (tr secTier) cache(t *testing.T, cfg Config) *Cache {
	t.Helper()
	c, err := New(tr.config(t, cfg))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// redisKeys returns the keys of c's namespace in Redis, with the length of their values.
func (tr secTier) redisKeys(t *testing.T, c *Cache) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	out := make(map[string]int64)
	iter := tr.rdb.Scan(ctx, 0, c.cfg.Namespace+":*", 100).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		n, err := tr.rdb.StrLen(ctx, k).Result()
		if err != nil {
			n = -1 // not a string (a tag set): its size is not what is checked
		}
		out[k] = n
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("SCAN %s:*: %v", c.cfg.Namespace, err)
	}
	return out
}

// ---- real HTTP ----

// secSite is a handler chain served by an httptest server, and a client for it.
type secSite struct {
	srv    *httptest.Server
	client *http.Client
	cur    atomic.Pointer[testing.T] // the test sending the current request
}

// secServe serves h over plain HTTP; secServeTLS over HTTPS. A panic anywhere in the chain
// (the cache included) fails the test and is answered 500; so does a panic that the server
// would have logged.
func secServe(t *testing.T, h http.Handler) *secSite    { return secStart(t, h, false) }
func secServeTLS(t *testing.T, h http.Handler) *secSite { return secStart(t, h, true) }

func secStart(t *testing.T, h http.Handler, tls bool) *secSite {
	t.Helper()
	s := &secSite{}
	s.cur.Store(t)
	guarded := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				s.cur.Load().Errorf("%s %s: the handler chain panicked: %v", r.Method, r.URL, p)
				http.Error(w, "panic", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(w, r)
	})
	srv := httptest.NewUnstartedServer(guarded)
	srv.Config.ErrorLog = log.New(secLog{t}, "", 0)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	client := srv.Client()
	// The client must send exactly the Accept-Encoding a test sets, and never decode.
	client.Transport.(*http.Transport).DisableCompression = true
	s.srv, s.client = srv, client
	return s
}

// secLog fails the test on a panic the HTTP server logs.
type secLog struct{ t *testing.T }

func (l secLog) Write(p []byte) (int, error) {
	if strings.Contains(string(p), "panic") {
		l.t.Errorf("http server: %s", p)
	} else {
		l.t.Logf("http server: %s", p)
	}
	return len(p), nil
}

// secReq is one request: Method (default GET), Path (path and query), Host (default the
// server's address), Header as "Name: value" lines (the value is kept verbatim inside,
// trimmed at its ends as a server would), and a request Body.
type secReq struct {
	Method string
	Path   string
	Host   string
	Header []string
	Body   string
}

// secRes is what the client received.
type secRes struct {
	label  string
	status int
	header http.Header
	body   string
}

func (r secRes) cacheStatus() string { return strings.Join(r.header.Values("Cache-Status"), ", ") }

// hit reports the Cache-Status hit parameter (RFC 9211 §2.1).
func (r secRes) hit() bool { return strings.Contains(r.cacheStatus(), "; hit") }

func (s *secSite) do(t *testing.T, q secReq) secRes {
	t.Helper()
	prev := s.cur.Swap(t)
	defer s.cur.Store(prev)
	method := q.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if q.Body != "" {
		body = strings.NewReader(q.Body)
	}
	req, err := http.NewRequest(method, s.srv.URL+q.Path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, q.Path, err)
	}
	if q.Host != "" {
		req.Host = q.Host
	}
	for _, kv := range q.Header {
		k, v, _ := strings.Cut(kv, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, q.Path, err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, q.Path, err)
	}
	label := method + " " + q.Path
	if q.Host != "" {
		label += " (Host " + q.Host + ")"
	}
	if len(q.Header) > 0 {
		label += " [" + strings.Join(q.Header, "; ") + "]"
	}
	if q.Body != "" {
		label += fmt.Sprintf(" with body %q", q.Body)
	}
	return secRes{label: label, status: res.StatusCode, header: res.Header, body: string(b)}
}

// get sends a GET with the given "Name: value" header lines.
func (s *secSite) get(t *testing.T, path string, hdr ...string) secRes {
	t.Helper()
	return s.do(t, secReq{Path: path, Header: hdr})
}

// ---- checks ----

func secWantStatus(t *testing.T, r secRes, want int) {
	t.Helper()
	if r.status != want {
		t.Errorf("%s: status: got %d, want %d (Cache-Status %q)", r.label, r.status, want, r.cacheStatus())
	}
}

func secWantBody(t *testing.T, r secRes, want string) {
	t.Helper()
	if r.body != want {
		t.Errorf("%s: body: got %q, want %q (Cache-Status %q)", r.label, clipSec(r.body), want, r.cacheStatus())
	}
}

func secWantBodyLacks(t *testing.T, r secRes, bad string) {
	t.Helper()
	if strings.Contains(r.body, bad) {
		t.Errorf("%s: body: got %q, want it without %q (Cache-Status %q)", r.label, clipSec(r.body), bad, r.cacheStatus())
	}
}

func secWantHit(t *testing.T, r secRes) {
	t.Helper()
	if !r.hit() {
		t.Errorf("%s: Cache-Status: got %q, want a hit", r.label, r.cacheStatus())
	}
}

func secWantNoHit(t *testing.T, r secRes) {
	t.Helper()
	if r.hit() {
		t.Errorf("%s: Cache-Status: got %q, want no hit (the origin must answer)", r.label, r.cacheStatus())
	}
}

// secWantStatusParams checks that Cache-Status has every parameter in params ("fwd=bypass",
// "detail=request-body", …), whatever their order and whatever else it has.
func secWantStatusParams(t *testing.T, r secRes, params ...string) {
	t.Helper()
	cs := r.cacheStatus()
	have := make(map[string]bool)
	for _, p := range strings.Split(cs, ";") {
		have[strings.TrimSpace(p)] = true
	}
	for _, p := range params {
		if !have[p] {
			t.Errorf("%s: Cache-Status: got %q, want it to have %q", r.label, cs, p)
		}
	}
}

func secWantRuns(t *testing.T, label string, o *origin, want int64) {
	t.Helper()
	if got := o.runs.Load(); got != want {
		t.Errorf("%s: origin runs: got %d, want %d", label, got, want)
	}
}

func clipSec(s string) string { return clipN(s, 200) }

func clipN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// secPublic answers text(r) with Cache-Control public, max-age=60.
func secPublic(text func(r *http.Request) string) *origin {
	return newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, text(r))
	})
}

// cookieValue returns the value of the request cookie name, or "".
func cookieValue(r *http.Request, name string) string {
	if ck, err := r.Cookie(name); err == nil {
		return ck.Value
	}
	return ""
}

// debugKeyRE finds the key parameter that Config.Debug adds to Cache-Status.
var debugKeyRE = regexp.MustCompile(`(?:^|;)\s*key=("(?:[^"\\]|\\.)*")`)

// secDebugKey returns the store key a Debug cache reports for a response.
func secDebugKey(t *testing.T, r secRes) string {
	t.Helper()
	m := debugKeyRE.FindStringSubmatch(r.cacheStatus())
	if m == nil {
		t.Fatalf("%s: Cache-Status %q has no key parameter (Config.Debug)", r.label, r.cacheStatus())
	}
	k, err := strconv.Unquote(m[1])
	if err != nil {
		t.Fatalf("%s: Cache-Status key %s: %v", r.label, m[1], err)
	}
	return k
}

// ---- keys that merge distinct responses ----

// TestSecurityNonCanonicalHeaderKeys: a handler that writes header map keys in lower case
// (w.Header()["set-cookie"], ["cache-control"]) must not slip past the storage rules, which
// look the fields up by their canonical names. Attack: alice's session cookie replayed to the
// next client; a private answer stored under a public route policy.
func TestSecurityNonCanonicalHeaderKeys(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		t.Run("set-cookie", func(t *testing.T) {
			c := tier.cache(t, Config{})
			o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
				if u := cookieValue(r, "user"); u != "" {
					w.Header()["set-cookie"] = []string{"session=" + u}
					_, _ = io.WriteString(w, "welcome "+u)
					return
				}
				_, _ = io.WriteString(w, "welcome guest")
			})
			site := secServe(t, c.Middleware(PolicyMiddleware(headers.Public(time.Minute))(o)))

			r1 := site.get(t, "/account", "Cookie: user=alice")
			secWantBody(t, r1, "welcome alice")
			if got := r1.header.Get("Set-Cookie"); got != "session=alice" {
				t.Errorf("%s: Set-Cookie: got %q, want %q (alice gets her own cookie)", r1.label, got, "session=alice")
			}
			r2 := site.get(t, "/account")
			secWantRuns(t, "after a request without a cookie", o, 2)
			secWantBody(t, r2, "welcome guest")
			if got := r2.header.Values("Set-Cookie"); strings.Contains(strings.Join(got, ", "), "session=alice") {
				t.Errorf("%s: Set-Cookie: got %q, want no session=alice (alice's cookie replayed)", r2.label, got)
			}
		})
		t.Run("cache-control", func(t *testing.T) {
			c := tier.cache(t, Config{})
			o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
				w.Header()["cache-control"] = []string{"private"}
				_, _ = io.WriteString(w, "account of "+cookieValue(r, "user"))
			})
			site := secServe(t, c.Middleware(PolicyMiddleware(headers.Public(time.Minute))(o)))

			r1 := site.get(t, "/account", "Cookie: user=alice")
			secWantBody(t, r1, "account of alice")
			r2 := site.get(t, "/account", "Cookie: user=bob")
			secWantRuns(t, "after bob's request", o, 2)
			secWantBody(t, r2, "account of bob")
			secWantNoHit(t, r2)
		})
	})
}

// TestSecuritySchemeKeyed: one cache behind an http and an https listener. Attack: the https
// client got the answer stored for http (a mixed-content or redirect-loop page).
func TestSecuritySchemeKeyed(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		c := tier.cache(t, Config{})
		o := secPublic(func(r *http.Request) string {
			if r.TLS != nil {
				return "https"
			}
			return "http"
		})
		h := c.Middleware(o)
		plain, secure := secServe(t, h), secServeTLS(t, h)
		req := secReq{Path: "/where", Host: "example.com"}

		r1 := plain.do(t, req)
		secWantBody(t, r1, "http")
		r2 := secure.do(t, req)
		secWantBody(t, r2, "https")
		secWantRuns(t, "after the https request", o, 2)

		// Both schemes are still cached, each under its own key.
		r3 := secure.do(t, req)
		secWantBody(t, r3, "https")
		secWantHit(t, r3)
		r4 := plain.do(t, req)
		secWantBody(t, r4, "http")
		secWantHit(t, r4)
		secWantRuns(t, "after the repeats", o, 2)
	})
}

// TestSecurityStripPrefixMounts: one cache used under two http.StripPrefix mounts sees the
// same stripped path for /public/report and /admin/report. Attack: /public/report answered
// with the stored /admin/report.
func TestSecurityStripPrefixMounts(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		c := tier.cache(t, Config{})
		pub := secPublic(func(*http.Request) string { return "public report" })
		adm := secPublic(func(*http.Request) string { return "admin report" })
		mux := http.NewServeMux()
		mux.Handle("/public/", http.StripPrefix("/public", c.Middleware(pub)))
		mux.Handle("/admin/", http.StripPrefix("/admin", c.Middleware(adm)))
		site := secServe(t, mux)

		secWantBody(t, site.get(t, "/admin/report"), "admin report")
		r := site.get(t, "/public/report")
		secWantBody(t, r, "public report")
		secWantRuns(t, "public mount", pub, 1)

		// Each mount still caches its own answer.
		r = site.get(t, "/public/report")
		secWantBody(t, r, "public report")
		secWantHit(t, r)
		r = site.get(t, "/admin/report")
		secWantBody(t, r, "admin report")
		secWantHit(t, r)
		secWantRuns(t, "admin mount", adm, 1)
	})
}

// TestSecurityRepeatedQueryOrder: sorting query parameters must keep the relative order of a
// repeated parameter, since handlers read the first value. Attack: ?a=2&a=1 answered with the
// entry of ?a=1&a=2. Distinct names may still be reordered into one entry (the intended
// normalisation).
func TestSecurityRepeatedQueryOrder(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		c := tier.cache(t, Config{})
		o := secPublic(func(r *http.Request) string {
			if v := r.URL.Query()["a"]; len(v) > 0 {
				return v[0]
			}
			return "none"
		})
		site := secServe(t, c.Middleware(o))

		secWantBody(t, site.get(t, "/q?a=1&a=2"), "1")
		r := site.get(t, "/q?a=2&a=1")
		secWantBody(t, r, "2")
		secWantRuns(t, "after ?a=2&a=1", o, 2)

		before := o.runs.Load()
		secWantBody(t, site.get(t, "/r?a=1&b=2"), "1")
		r = site.get(t, "/r?b=2&a=1")
		secWantBody(t, r, "1")
		secWantHit(t, r)
		secWantRuns(t, "after ?a=1&b=2 and ?b=2&a=1 (distinct names share an entry)", o, before+1)
	})
}

// TestSecurityIgnoredQueryHidden: a parameter left out of the key (Config.IgnoreQuery or a
// route policy's IgnoreQuery) must not reach the handler either, or its reflection is stored
// under the clean key. Attack: ?utm_source=<script> served to every /p?id=1 visitor.
func TestSecurityIgnoredQueryHidden(t *testing.T) {
	echo := func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "raw=%s utm=%s", r.URL.RawQuery, r.URL.Query().Get("utm_source"))
	}
	cases := []struct {
		name  string
		cfg   Config
		route func(http.Handler) http.Handler
		h     http.HandlerFunc
	}{
		{
			name: "config",
			cfg:  Config{IgnoreQuery: []string{"utm_source"}},
			route: func(h http.Handler) http.Handler {
				return h
			},
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=60")
				echo(w, r)
			},
		},
		{
			name:  "route-policy",
			route: PolicyMiddleware(headers.Public(time.Minute).IgnoreQuery("utm_source")),
			h:     echo,
		},
	}
	secTiers(t, func(t *testing.T, tier secTier) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := tier.cache(t, tc.cfg)
				o := newOrigin(tc.h)
				site := secServe(t, c.Middleware(tc.route(o)))

				r1 := site.get(t, "/p?utm_source=%3Cscript%3E&id=1")
				secWantBodyLacks(t, r1, "script")
				secWantBodyLacks(t, r1, "utm_source")
				if !strings.Contains(r1.body, "id=1") {
					t.Errorf("%s: body: got %q, want the kept parameter id=1 to reach the handler", r1.label, r1.body)
				}
				r2 := site.get(t, "/p?id=1")
				secWantHit(t, r2)
				secWantBody(t, r2, r1.body)
				secWantBodyLacks(t, r2, "script")
				secWantRuns(t, "after the clean request", o, 1)
			})
		}
	})
}

// ---- unkeyed inputs ----

// TestSecurityUnkeyedInputs: a GET carrying a request field that commonly changes a response
// without a Vary (the forwarded family, method and URL overrides) is passed through, neither
// looked up nor stored, with a Cache-Status detail naming the field. Attack: a handler that
// reflects the field has the attacker's value stored for everyone.
func TestSecurityUnkeyedInputs(t *testing.T) {
	fields := []string{"X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Original-URL", "X-Rewrite-URL", "X-HTTP-Method-Override"}
	secTiers(t, func(t *testing.T, tier secTier) {
		for _, field := range fields {
			t.Run(field, func(t *testing.T) {
				c := tier.cache(t, Config{})
				o := secPublic(func(r *http.Request) string { return "value=" + r.Header.Get(field) })
				site := secServe(t, c.Middleware(o))

				r1 := site.get(t, "/page", field+": evil")
				secWantStatusParams(t, r1, "fwd=bypass", "detail=unkeyed-"+strings.ToLower(field))
				secWantNoHit(t, r1)
				r2 := site.get(t, "/page")
				secWantBodyLacks(t, r2, "evil")
				secWantRuns(t, "after the clean request", o, 2)
				r3 := site.get(t, "/page")
				secWantHit(t, r3)
				secWantBodyLacks(t, r3, "evil")
				secWantRuns(t, "after the second clean request", o, 2)
			})
		}
	})
}

// TestSecurityTrustForwardedHost: with Config.TrustForwardedHost, the key must hold both Host
// and X-Forwarded-Host (a handler may use either), and an X-Forwarded-Host that is not a valid
// host is passed through unstored. Attack: Host became the unkeyed input; a host such as
// "evil.com/<x>" was stored verbatim.
func TestSecurityTrustForwardedHost(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		c := tier.cache(t, Config{TrustForwardedHost: true})
		o := secPublic(func(r *http.Request) string {
			return "host=" + r.Host + " fwd=" + r.Header.Get("X-Forwarded-Host")
		})
		site := secServe(t, c.Middleware(o))

		a := secReq{Path: "/t", Host: "a.com", Header: []string{"X-Forwarded-Host: x.com"}}
		b := secReq{Path: "/t", Host: "b.com", Header: []string{"X-Forwarded-Host: x.com"}}
		secWantBody(t, site.do(t, a), "host=a.com fwd=x.com")
		r := site.do(t, b)
		secWantBody(t, r, "host=b.com fwd=x.com")
		secWantRuns(t, "after Host b.com", o, 2)
		r = site.do(t, a)
		secWantBody(t, r, "host=a.com fwd=x.com")
		secWantHit(t, r)
		secWantRuns(t, "after the repeat of Host a.com", o, 2)

		for _, bad := range []string{"evil.com/<x>", "a b", "a.com|/x"} {
			q := secReq{Path: "/t", Host: "a.com", Header: []string{"X-Forwarded-Host: " + bad}}
			for i := 0; i < 2; i++ {
				before := o.runs.Load()
				r := site.do(t, q)
				secWantStatusParams(t, r, "fwd=bypass")
				secWantNoHit(t, r)
				if strings.Contains(r.cacheStatus(), "stored") {
					t.Errorf("%s: Cache-Status: got %q, want it not stored", r.label, r.cacheStatus())
				}
				secWantRuns(t, r.label, o, before+1)
			}
		}
	})
}

// TestSecurityRequestBody: a GET or HEAD with a request body bypasses the cache. Attack: a
// handler that reflects the body has it stored under the URL's key (a HEAD miss fills the
// GET entry).
func TestSecurityRequestBody(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			t.Run(method, func(t *testing.T) {
				c := tier.cache(t, Config{})
				o := secPublic(func(r *http.Request) string {
					b, _ := io.ReadAll(r.Body)
					return "body=" + string(b)
				})
				site := secServe(t, c.Middleware(o))

				r1 := site.do(t, secReq{Method: method, Path: "/b", Body: "evil"})
				secWantStatusParams(t, r1, "fwd=bypass", "detail=request-body")
				r2 := site.get(t, "/b")
				secWantBodyLacks(t, r2, "evil")
				secWantBody(t, r2, "body=")
				secWantRuns(t, "after the clean GET", o, 2)
				r3 := site.get(t, "/b")
				secWantHit(t, r3)
				secWantBody(t, r3, "body=")
			})
		}
	})
}

// ---- Vary normalisation ----

// accepts reports whether an Accept-Encoding value lists coding with a non-zero weight. With
// star, "*" counts too (RFC 9110 §12.5.3), and an absent field accepts everything.
func accepts(ae []string, coding string, star bool) bool {
	if len(ae) == 0 {
		return star
	}
	listed, anyCoding := false, false
	for _, line := range ae {
		for _, el := range strings.Split(line, ",") {
			tok, params, _ := strings.Cut(el, ";")
			tok = strings.ToLower(strings.TrimSpace(tok))
			zero := false
			for _, p := range strings.Split(params, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") {
					v = strings.TrimSpace(v)
					zero = v != "" && strings.Trim(v, "0.") == ""
				}
			}
			switch tok {
			case strings.ToLower(coding):
				if zero {
					return false
				}
				listed = true
			case "*":
				anyCoding = !zero
			}
		}
	}
	return listed || (star && anyCoding)
}

// secWantAcceptable checks that a response's Content-Encoding is one the request accepts.
func secWantAcceptable(t *testing.T, r secRes, ae []string) {
	t.Helper()
	for _, ce := range r.header.Values("Content-Encoding") {
		for _, coding := range strings.Split(ce, ",") {
			coding = strings.TrimSpace(coding)
			if coding != "" && !strings.EqualFold(coding, "identity") && !accepts(ae, coding, true) {
				t.Errorf("%s: Content-Encoding: got %q, which Accept-Encoding %q does not accept (Cache-Status %q)", r.label, ce, ae, r.cacheStatus())
			}
		}
	}
}

// TestSecurityAcceptEncodingCodings: every coding token of Accept-Encoding selects its own
// variant. Attack: dcz and compress were mapped to identity, so a dcz body was served to
// clients that cannot decode it.
func TestSecurityAcceptEncodingCodings(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		c := tier.cache(t, Config{})
		o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
			ae := r.Header.Values("Accept-Encoding")
			w.Header().Set("Cache-Control", "public, max-age=60")
			w.Header().Set("Vary", "Accept-Encoding")
			switch {
			case accepts(ae, "dcz", false):
				w.Header().Set("Content-Encoding", "dcz")
				_, _ = io.WriteString(w, "DCZ")
			case accepts(ae, "compress", false):
				w.Header().Set("Content-Encoding", "compress")
				_, _ = io.WriteString(w, "COMPRESS")
			default:
				_, _ = io.WriteString(w, "PLAIN")
			}
		})
		site := secServe(t, c.Middleware(o))

		for _, step := range []struct{ ae, body, coding string }{
			{"dcz", "DCZ", "dcz"},
			{"gzip", "PLAIN", ""},
			{"compress", "COMPRESS", "compress"},
			{"identity", "PLAIN", ""},
			{"dcz;q=0, gzip", "PLAIN", ""},
			{"gzip, compress", "COMPRESS", "compress"},
			{"DCZ", "DCZ", "dcz"},
		} {
			r := site.get(t, "/asset", "Accept-Encoding: "+step.ae)
			secWantAcceptable(t, r, []string{step.ae})
			secWantBody(t, r, step.body)
			if got := r.header.Get("Content-Encoding"); got != step.coding {
				t.Errorf("%s: Content-Encoding: got %q, want %q", r.label, got, step.coding)
			}
		}
	})
}

// TestSecurityContentEncodingGuard: as a last guard, a stored entry whose Content-Encoding the
// request does not accept is never served, even when a tier hands it out under the request's
// key. The br entry is copied over the key of the gzip-only variant.
func TestSecurityContentEncodingGuard(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		places := []string{"l1"}
		if tier.redis() {
			places = append(places, "l2")
		}
		for _, place := range places {
			t.Run("planted-in-"+place, func(t *testing.T) {
				ctx := context.Background()
				c := tier.cache(t, Config{Debug: true})
				o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "public, max-age=60")
					w.Header().Set("Vary", "Accept-Encoding")
					if accepts(r.Header.Values("Accept-Encoding"), "br", false) {
						w.Header().Set("Content-Encoding", "br")
						_, _ = io.WriteString(w, "BR")
						return
					}
					_, _ = io.WriteString(w, "PLAIN")
				})
				site := secServe(t, c.Middleware(o))

				rb := site.get(t, "/asset", "Accept-Encoding: br")
				secWantBody(t, rb, "BR")
				rg := site.get(t, "/asset", "Accept-Encoding: gzip")
				secWantBody(t, rg, "PLAIN")
				kb, kg := secDebugKey(t, rb), secDebugKey(t, rg)
				if kb == kg {
					t.Fatalf("br and gzip share the store key %q", kb)
				}
				switch place {
				case "l1":
					raw, err := c.l1.Get(ctx, kb)
					if err != nil {
						t.Fatalf("L1 get %q: %v", kb, err)
					}
					if err := c.l1.Set(ctx, kg, raw, time.Minute); err != nil {
						t.Fatalf("L1 set %q: %v", kg, err)
					}
				case "l2":
					raw, err := tier.rdb.Get(ctx, kb).Bytes()
					if err != nil {
						t.Fatalf("Redis GET %q: %v", kb, err)
					}
					if err := tier.rdb.Set(ctx, kg, raw, time.Minute).Err(); err != nil {
						t.Fatalf("Redis SET %q: %v", kg, err)
					}
					_ = c.l1.Delete(ctx, kg) // read it from L2
				}
				r := site.get(t, "/asset", "Accept-Encoding: gzip")
				secWantStatus(t, r, http.StatusOK)
				secWantAcceptable(t, r, []string{"gzip"})
				secWantBody(t, r, "PLAIN")
			})
		}
	})
}

// TestSecurityVaryExact: fields without a list grammar are compared exactly when they select a
// variant. Attack: User-Agent "Foo  Bar" and "Foo Bar", and Cookie "a=1, b=2" and "a=1,b=2",
// shared a variant although the origin tells them apart.
func TestSecurityVaryExact(t *testing.T) {
	cases := []struct{ field, first, second string }{
		{"User-Agent", "Foo  Bar", "Foo Bar"},
		{"Cookie", "a=1, b=2", "a=1,b=2"},
	}
	secTiers(t, func(t *testing.T, tier secTier) {
		for _, tc := range cases {
			t.Run(tc.field, func(t *testing.T) {
				c := tier.cache(t, Config{})
				o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "public, max-age=60")
					w.Header().Set("Vary", tc.field)
					_, _ = io.WriteString(w, r.Header.Get(tc.field))
				})
				site := secServe(t, c.Middleware(o))

				secWantBody(t, site.get(t, "/v", tc.field+": "+tc.first), tc.first)
				r := site.get(t, "/v", tc.field+": "+tc.second)
				secWantBody(t, r, tc.second)
				secWantRuns(t, "after the second value", o, 2)
				r = site.get(t, "/v", tc.field+": "+tc.first)
				secWantBody(t, r, tc.first)
				secWantHit(t, r)
			})
		}
	})
}

// ---- negative caching ----

// TestSecurityNegativePrivateRoute: a route whose policy is private never negatively caches.
// Attack: alice's 404 was shared with bob for 10 s.
func TestSecurityNegativePrivateRoute(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		c := tier.cache(t, Config{})
		o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "no order for "+cookieValue(r, "user"))
		})
		site := secServe(t, c.Middleware(PolicyMiddleware(headers.Private())(o)))

		r1 := site.get(t, "/orders/7", "Cookie: user=alice")
		secWantStatus(t, r1, http.StatusNotFound)
		secWantBody(t, r1, "no order for alice")
		r2 := site.get(t, "/orders/7", "Cookie: user=bob")
		secWantStatus(t, r2, http.StatusNotFound)
		secWantBody(t, r2, "no order for bob")
		secWantNoHit(t, r2)
		secWantRuns(t, "after bob's request", o, 2)
	})
}

// TestSecurityNegativeNoPolicy: without a route policy, an error answer with no explicit
// freshness is not stored. Attack: a 404 caused by an unkeyed request field (an API version
// header) was pinned for 10 s under the clean key. With a route policy, or with explicit
// freshness, 404s are still stored (the legitimate cases).
func TestSecurityNegativeNoPolicy(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		t.Run("no-policy", func(t *testing.T) {
			c := tier.cache(t, Config{})
			o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Api-Version") == "2" {
					w.WriteHeader(http.StatusNotFound)
					_, _ = io.WriteString(w, "v2 not found")
					return
				}
				_, _ = io.WriteString(w, "ok")
			})
			site := secServe(t, c.Middleware(o))

			r1 := site.get(t, "/api/thing", "X-Api-Version: 2")
			secWantStatus(t, r1, http.StatusNotFound)
			secWantBody(t, r1, "v2 not found")
			r2 := site.get(t, "/api/thing")
			secWantStatus(t, r2, http.StatusOK)
			secWantBody(t, r2, "ok")
			secWantRuns(t, "after the request without the header", o, 2)
		})
		t.Run("route-policy", func(t *testing.T) {
			c := tier.cache(t, Config{})
			o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, "missing")
			})
			site := secServe(t, c.Middleware(PolicyMiddleware(headers.Public(time.Minute))(o)))

			secWantStatus(t, site.get(t, "/p/1"), http.StatusNotFound)
			r := site.get(t, "/p/1")
			secWantStatus(t, r, http.StatusNotFound)
			secWantBody(t, r, "missing")
			secWantHit(t, r)
			secWantStatusParams(t, r, "ttl=10")
			secWantRuns(t, "404 under a route policy", o, 1)
		})
		t.Run("explicit-freshness", func(t *testing.T) {
			c := tier.cache(t, Config{})
			o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, "gone for good")
			})
			site := secServe(t, c.Middleware(o))

			secWantStatus(t, site.get(t, "/p/2"), http.StatusNotFound)
			r := site.get(t, "/p/2")
			secWantStatus(t, r, http.StatusNotFound)
			secWantBody(t, r, "gone for good")
			secWantHit(t, r)
			secWantRuns(t, "404 with max-age", o, 1)
		})
	})
}

// ---- memory bounds ----

// TestSecurityEntrySizeBound: the encoded entry, header fields included, is bounded for every
// tier. Attack: an entry with 3 MB of fields was refused by L1 but stored in Redis.
func TestSecurityEntrySizeBound(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		c := tier.cache(t, Config{})
		pad := strings.Repeat("x", 10<<10)
		o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Cache-Control", "public, max-age=60")
			for i := 0; i < 300; i++ { // 300 fields of 10 KiB: 3 MB
				h.Set(fmt.Sprintf("X-Pad-%03d", i), pad)
			}
			_, _ = io.WriteString(w, "big fields")
		})
		site := secServe(t, c.Middleware(o))

		for i := 0; i < 2; i++ {
			r := site.get(t, "/big")
			secWantStatus(t, r, http.StatusOK)
			secWantBody(t, r, "big fields")
			if got := len(r.header.Values("X-Pad-299")); got != 1 {
				t.Errorf("%s: X-Pad-299: got %d lines, want 1 (the client still gets every field)", r.label, got)
			}
			secWantNoHit(t, r)
		}
		secWantRuns(t, "after two requests", o, 2)
		if tier.redis() {
			for k, n := range tier.redisKeys(t, c) {
				if n > 2<<20 {
					t.Errorf("Redis key %q holds %d bytes, want at most 2 MiB", k, n)
				}
			}
		}
	})
}

// TestSecurityVarySlotEviction: once a URL's variant slots are full, a new variant evicts the
// least recently used one instead of being refused. Attack: ten junk User-Agent values filled
// the slots and the real one was never cached again.
func TestSecurityVarySlotEviction(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		c := tier.cache(t, Config{MaxVariants: 4})
		o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			w.Header().Set("Vary", "User-Agent")
			_, _ = io.WriteString(w, "ua="+r.Header.Get("User-Agent"))
		})
		site := secServe(t, c.Middleware(o))

		for i := 0; i < 10; i++ {
			site.get(t, "/home", fmt.Sprintf("User-Agent: junk-%d", i))
		}
		site.get(t, "/home", "User-Agent: real")
		r := site.get(t, "/home", "User-Agent: real")
		secWantBody(t, r, "ua=real")
		secWantHit(t, r)
		secWantRuns(t, "after the real User-Agent twice", o, 11)
	})
}

// TestSecurityVaryFieldSetCap: the per-URL variant cap counts variants whatever the Vary field
// set. Attack: a handler alternating Vary: X-A and Vary: X-B reset the record on every answer,
// so each request stored one more variant, without bound.
func TestSecurityVaryFieldSetCap(t *testing.T) {
	const maxVariants = 4
	secTiers(t, func(t *testing.T, tier secTier) {
		c := tier.cache(t, Config{MaxVariants: maxVariants})
		var n atomic.Int64
		o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
			k := n.Add(1)
			w.Header().Set("Cache-Control", "public, max-age=60")
			if k%2 == 1 {
				w.Header().Set("Vary", "X-A")
			} else {
				w.Header().Set("Vary", "X-B")
			}
			_, _ = fmt.Fprintf(w, "v%d", k)
		})
		site := secServe(t, c.Middleware(o))

		for i := 0; i < 200; i++ {
			r := site.get(t, "/alt", fmt.Sprintf("X-A: a%d", i), fmt.Sprintf("X-B: b%d", i))
			secWantStatus(t, r, http.StatusOK)
		}
		limit := maxVariants + 4
		if tier.redis() {
			if keys := tier.redisKeys(t, c); len(keys) > limit {
				t.Errorf("Redis holds %d keys for one URL after 200 alternating answers, want at most %d (MaxVariants %d + 4)", len(keys), limit, maxVariants)
			}
		} else if got := c.l1.Len(); got > limit {
			t.Errorf("L1 holds %d entries for one URL after 200 alternating answers, want at most %d (MaxVariants %d + 4)", got, limit, maxVariants)
		}
	})
}

// ---- corrupt, empty and foreign tier values ----

// TestSecurityCorruptTierValues: a value from any tier that is empty, corrupt or of another
// kind is a miss and is deleted (or replaced by a valid entry); never a panic or a 5xx.
// Attack: a zero-length value panicked the request (index out of range) on the L1 and L2 paths.
func TestSecurityCorruptTierValues(t *testing.T) {
	secTiers(t, func(t *testing.T, tier secTier) {
		ctx := context.Background()
		c := tier.cache(t, Config{Debug: true})
		o := secPublic(func(*http.Request) string { return "payload" })
		site := secServe(t, c.Middleware(o))

		r := site.get(t, "/c")
		secWantBody(t, r, "payload")
		key := secDebugKey(t, r)
		good, err := c.l1.Get(ctx, key)
		if err != nil || len(good) < 4 {
			t.Fatalf("L1 get %q after the fill: %d bytes, %v", key, len(good), err)
		}
		bad := []struct{ name, value string }{
			{"empty", ""},
			{"garbage", "garbage"},
			{"foreign-vary", "V\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"},
			{"foreign-ignore", "Q\x01utm_source"},
			{"unknown-version", string(append([]byte{good[0], 0xee}, good[2:]...))},
			{"truncated", string(good[:len(good)/2])},
		}
		places := []string{"l1"}
		if tier.redis() {
			places = append(places, "l2")
		}
		runs := o.runs.Load()
		for _, place := range places {
			for _, b := range bad {
				t.Run(place+"/"+b.name, func(t *testing.T) {
					switch place {
					case "l1":
						if err := c.l1.Set(ctx, key, []byte(b.value), time.Minute); err != nil {
							t.Fatalf("L1 set: %v", err)
						}
					case "l2":
						if err := tier.rdb.Set(ctx, key, b.value, time.Minute).Err(); err != nil {
							t.Fatalf("Redis SET: %v", err)
						}
						_ = c.l1.Delete(ctx, key) // read it from L2
					}
					r := site.get(t, "/c")
					secWantStatus(t, r, http.StatusOK)
					secWantBody(t, r, "payload")
					if place == "l2" || !tier.redis() {
						// No valid copy is left in any tier: the origin answers. (With a
						// corrupt L1 value and a valid L2 one, L2 may answer.)
						secWantNoHit(t, r)
						runs++
						secWantRuns(t, r.label, o, runs)
					}
					runs = o.runs.Load()

					var after []byte
					var err error
					switch place {
					case "l1":
						after, err = c.l1.Get(ctx, key)
						if errors.Is(err, store.ErrNotFound) {
							return
						}
					case "l2":
						after, err = tier.rdb.Get(ctx, key).Bytes()
						if errors.Is(err, redis.Nil) {
							return
						}
					}
					if err != nil {
						t.Fatalf("%s get %q after the request: %v", place, key, err)
					}
					var e entry
					if string(after) == b.value || decodeEntry(after, &e) != nil {
						t.Errorf("%s still holds %q (%d bytes) under %q after the request, want it deleted or replaced by a valid entry", place, clipN(string(after), 24), len(after), key)
					}
				})
			}
		}
	})
}
