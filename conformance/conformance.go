package conformance

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store/redisstore"
)

// Host is the Host of every request the suite sends (unless a step sets its own), so
// absolute URLs for Purge are "http://" + Host + path.
const Host = "example.com"

// Epoch is the time on the injected clock when a scenario starts. Handlers that send Date,
// Expires or Last-Modified compute them from it.
var Epoch = time.Date(2026, time.March, 2, 10, 0, 0, 0, time.UTC)

// Route is one origin route of a scenario.
type Route struct {
	// Method is the route's method. Default GET.
	Method string
	// Path is a static path ("/a"); scenarios use no path parameters, so every router
	// spells it the same way.
	Path string
	// Policy is the route's cache policy, mounted with the adapter's Policy middleware.
	// The zero Policy means none.
	Policy headers.Policy
	// Handler is the origin. The suite wraps it to count its runs.
	Handler http.HandlerFunc
}

// Methods lists the methods to register the route for: a GET route also answers HEAD
// (RFC 9110 §9.3.2), which routers such as gin and echo only do when told.
func (r Route) Methods() []string {
	if r.Method == http.MethodGet {
		return []string{http.MethodGet, http.MethodHead}
	}
	return []string{r.Method}
}

// Mount builds a framework's router with the cache middleware at the router and routes
// mounted on it, and returns it as an http.Handler. It is called once per scenario and run.
type Mount func(t *testing.T, cache *core.Cache, routes []Route) http.Handler

// Scenario is one named behaviour, checked through a script of steps.
type Scenario struct {
	Name   string
	Routes []Route
	// Config tweaks the cache's Config before New. The suite's base Config has the
	// injected clock, no jitter and no early refresh (so runs are deterministic), and the
	// tiers of the run; a tweak must not undo those.
	Config func(*core.Config)
	// Flushes says a route flushes its answer (a stream): the no-flush row leaves it out.
	Flushes bool
	Steps   []Step
}

// Runs maps a route to the number of times its handler has run so far. A key is a route
// Path (runs of every method on it) or "METHOD path".
type Runs map[string]int

// Step is one line of a scenario's script. It runs in this order: Advance the clock, call
// Do, send the request(s) (when Path is set), check the responses, Capture, check Runs.
type Step struct {
	// Note says what the step shows; it prefixes failure messages.
	Note string

	// Advance moves the injected clock forward before anything else.
	Advance time.Duration
	// Do is an action, such as a purge, run before the request. An error fails the step.
	Do func(ctx context.Context, c *core.Cache) error

	// Method of the request. Default GET.
	Method string
	// Path is the request target (path and query). Empty: the step sends no request.
	Path string
	// Host overrides the request Host. Default [Host].
	Host string
	// Header lists request fields as "Name: value". "{{Name}}" in a value is replaced
	// by the field Name that an earlier step captured.
	Header []string
	// Send is the request body.
	Send string
	// Parallel sends this many identical requests at once. Default 1.
	Parallel int

	// Status is the status every response must have; 0 is not checked.
	Status int
	// Want lists the checks every response must pass; Count checks count across the
	// parallel responses.
	Want []Check
	// Capture remembers these response fields of the (first) response for later steps.
	Capture []string
	// Runs are the handler runs expected after the step; routes it does not name are not
	// checked.
	Runs Runs
}

// Options tells the suite what an adapter does where the expected behaviour depends on it.
type Options struct {
	// DetachedRefresh says that the adapter lets core run the rest of its chain after the
	// client's request returned (core.HandlerOptions.Detach is set): behind a writer that
	// cannot flush, a stale answer is refreshed in the background. Without it, that refresh
	// is left to the next request, which revalidates in the foreground.
	DetachedRefresh bool
}

// Run runs the suite against mount, in rows:
//
//   - l1: every scenario of [Scenarios], requests served in process, L1-only caches;
//   - redis: the same with a Redis L2;
//   - http2: every scenario over a real TLS HTTP/2 server (L1 only);
//   - no-flush: behind an outer middleware whose writer cannot flush, the background-refresh
//     scenarios (L1 and Redis; what they expect depends on o.DetachedRefresh) and, on L1,
//     every other scenario that needs neither a flush nor a refresh within the request.
func Run(t *testing.T, mount Mount, o Options) {
	t.Helper()
	t.Run("l1", func(t *testing.T) {
		RunScenarios(t, mount, Scenarios(), nil)
	})
	t.Run("redis", func(t *testing.T) {
		srv := redistest.Start(t)
		if srv == nil {
			return
		}
		RunScenarios(t, mount, Scenarios(), srv.Client(t))
	})
	t.Run("http2", func(t *testing.T) {
		runScenarios(t, mount, http2Scenarios(), nil, viaHTTP2)
	})
	t.Run("no-flush", func(t *testing.T) {
		t.Run("l1", func(t *testing.T) {
			runScenarios(t, mount, NoFlushScenarios(o), nil, viaNoFlush)
		})
		t.Run("redis", func(t *testing.T) {
			srv := redistest.Start(t)
			if srv == nil {
				return
			}
			runScenarios(t, mount, refreshScenarios(o), srv.Client(t), viaNoFlush)
		})
	})
}

// http2Scenarios are the scenarios an HTTP/2 client can send: not those whose requests carry
// connection-specific fields (Connection, Upgrade, …), which HTTP/2 forbids (RFC 9113
// §8.2.2); protocol upgrades are HTTP/1.1's, and RunWire covers them on real connections.
func http2Scenarios() []Scenario {
	var out []Scenario
scenario:
	for _, sc := range Scenarios() {
		for _, st := range sc.Steps {
			for _, h := range st.Header {
				name, _, _ := strings.Cut(h, ":")
				switch http.CanonicalHeaderKey(strings.TrimSpace(name)) {
				case "Connection", "Upgrade", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding":
					continue scenario
				}
			}
		}
		out = append(out, sc)
	}
	return out
}

// via is how a run sends its requests to the mounted handler.
type via uint8

const (
	viaRecorder via = iota // in process, into an httptest.ResponseRecorder
	viaNoFlush             // the same, behind a writer that cannot flush
	viaHTTP2               // over a TLS HTTP/2 connection to an httptest server
)

// RunScenarios runs the given scenarios, each as a subtest, against caches built on client
// (nil: L1 only), sending requests in process. With Redis, each scenario gets a namespace of
// its own and every other one runs without L1.
func RunScenarios(t *testing.T, mount Mount, scenarios []Scenario, client redis.UniversalClient) {
	t.Helper()
	runScenarios(t, mount, scenarios, client, viaRecorder)
}

func runScenarios(t *testing.T, mount Mount, scenarios []Scenario, client redis.UniversalClient, v via) {
	t.Helper()
	seen := make(map[string]bool, len(scenarios))
	for i, sc := range scenarios {
		if seen[sc.Name] {
			t.Fatalf("conformance: scenario name %q used twice", sc.Name)
		}
		seen[sc.Name] = true
		t.Run(sc.Name, func(t *testing.T) {
			cfg := core.Config{
				L1MaxBytes: 8 << 20,
				Jitter:     -1,
				Beta:       -1,
				Logger:     slog.New(slog.DiscardHandler),
			}
			if client != nil {
				cfg.Namespace = fmt.Sprintf("conf%d-%d", i, time.Now().UnixNano())
				cfg.L2 = redisL2(t, client, cfg.Namespace)
				cfg.DisableL1 = i%2 == 1
				if cfg.DisableL1 {
					t.Log("tiers: Redis L2 only")
				} else {
					t.Log("tiers: L1 + Redis L2")
				}
			}
			runScenario(t, mount, sc, cfg, v)
		})
	}
}

// clock is the injected clock of one scenario.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// run is the state of one scenario run.
type run struct {
	t     *testing.T
	h     http.Handler
	cache *core.Cache
	clk   *clock
	runs  map[string]*atomic.Int64
	vars  map[string]string
	via   via
	h2    *h2conn // viaHTTP2
}

func runScenario(t *testing.T, mount Mount, sc Scenario, cfg core.Config, v via) {
	clk := &clock{t: Epoch}
	cfg.Clock = clk.Now
	if sc.Config != nil {
		sc.Config(&cfg)
	}
	cache, err := core.New(cfg)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	t.Cleanup(func() { _ = cache.Close() })

	rn := &run{t: t, cache: cache, clk: clk, runs: make(map[string]*atomic.Int64), vars: make(map[string]string), via: v}
	routes := make([]Route, len(sc.Routes))
	for i, rt := range sc.Routes {
		if rt.Method == "" {
			rt.Method = http.MethodGet
		}
		byPath, byMethod := rn.counter(rt.Path), rn.counter(rt.Method+" "+rt.Path)
		h := rt.Handler
		rt.Handler = func(w http.ResponseWriter, r *http.Request) {
			byPath.Add(1)
			byMethod.Add(1)
			h(w, r)
		}
		routes[i] = rt
	}
	rn.h = mount(t, cache, routes)
	if v == viaHTTP2 {
		rn.h2 = startHTTP2(t, rn.h)
	}
	for i, st := range sc.Steps {
		rn.step(i+1, st)
		if t.Failed() {
			return
		}
	}
}

func (rn *run) counter(key string) *atomic.Int64 {
	c := rn.runs[key]
	if c == nil {
		c = new(atomic.Int64)
		rn.runs[key] = c
	}
	return c
}

// response is what one request got.
type response struct {
	status  int
	header  http.Header
	body    string
	flushed bool
	panic   any
}

func (rn *run) step(n int, st Step) {
	t := rn.t
	t.Helper()
	label := fmt.Sprintf("step %d", n)
	if st.Path != "" {
		m := st.Method
		if m == "" {
			m = http.MethodGet
		}
		label += " (" + m + " " + st.Path + ")"
	}
	if st.Note != "" {
		label += " [" + st.Note + "]"
	}
	if st.Advance > 0 {
		rn.clk.Advance(st.Advance)
	}
	if st.Do != nil {
		if err := st.Do(context.Background(), rn.cache); err != nil {
			t.Fatalf("%s: action: %v", label, err)
		}
	}
	if st.Path != "" {
		resps := rn.send(st)
		for i, res := range resps {
			who := label
			if len(resps) > 1 {
				who = fmt.Sprintf("%s, request %d of %d", label, i+1, len(resps))
			}
			if res.panic != nil {
				t.Fatalf("%s: a panic escaped the mounted handler (the mount must recover it): %v", who, res.panic)
			}
			if st.Status != 0 && res.status != st.Status {
				t.Errorf("%s: status: got %d, want %d (Cache-Status %q)", who, res.status, st.Status, res.header.Get("Cache-Status"))
			}
			for _, c := range st.Want {
				if c.kind == kindCount {
					continue
				}
				if msg := c.check(res); msg != "" {
					t.Errorf("%s: %s (Cache-Status %q)", who, msg, res.header.Get("Cache-Status"))
				}
			}
		}
		for _, c := range st.Want {
			if c.kind != kindCount {
				continue
			}
			got := 0
			for _, res := range resps {
				if c.inner.check(res) == "" {
					got++
				}
			}
			if got != c.n {
				var cs []string
				for _, res := range resps {
					cs = append(cs, fmt.Sprintf("%d %q", res.status, res.header.Get("Cache-Status")))
				}
				t.Errorf("%s: %d responses pass %s, want %d; got %s", label, got, c.inner, c.n, strings.Join(cs, ", "))
			}
		}
		for _, name := range st.Capture {
			rn.vars[name] = resps[0].header.Get(name)
			if rn.vars[name] == "" {
				t.Errorf("%s: capture %s: the response has no such field", label, name)
			}
		}
	}
	for key, want := range st.Runs {
		got := 0
		if c := rn.runs[key]; c != nil {
			got = int(c.Load())
		} else {
			t.Errorf("%s: runs: no route %q in the scenario", label, key)
			continue
		}
		if got != want {
			t.Errorf("%s: origin runs of %s: got %d, want %d", label, key, got, want)
		}
	}
}

// send sends the step's request(s) and records the responses.
func (rn *run) send(st Step) []*response {
	n := max(st.Parallel, 1)
	resps := make([]*response, n)
	if n == 1 {
		resps[0] = rn.do(st)
		return resps
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range resps {
		wg.Go(func() {
			<-start
			resps[i] = rn.do(st)
		})
	}
	close(start)
	wg.Wait()
	return resps
}

func (rn *run) do(st Step) (res *response) {
	method := st.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if st.Send != "" {
		body = strings.NewReader(st.Send)
	}
	host := st.Host
	if host == "" {
		host = Host
	}
	r := httptest.NewRequest(method, "http://"+host+st.Path, body)
	for _, kv := range st.Header {
		k, v, _ := strings.Cut(kv, ":")
		v = strings.TrimSpace(v)
		for name, val := range rn.vars {
			v = strings.ReplaceAll(v, "{{"+name+"}}", val)
		}
		r.Header.Add(strings.TrimSpace(k), v)
	}
	if rn.via == viaHTTP2 {
		return rn.h2.roundTrip(rn.t, r, st.Send)
	}
	w := httptest.NewRecorder()
	var cw http.ResponseWriter = w
	if rn.via == viaNoFlush {
		cw = noFlushWriter{w}
	}
	res = &response{}
	defer func() {
		if p := recover(); p != nil {
			res.panic = p
		}
	}()
	rn.h.ServeHTTP(cw, r)
	out := w.Result()
	b, _ := io.ReadAll(out.Body)
	res.status, res.header, res.body, res.flushed = out.StatusCode, out.Header, string(b), w.Flushed
	return res
}

// ---- checks ----

type checkKind uint8

const (
	kindHeader checkKind = iota
	kindHeaderContains
	kindHeaderNotContains
	kindHeaderAbsent
	kindHeaderPresent
	kindHeaderValues
	kindBody
	kindBodyContains
	kindBodyNotContains
	kindBodyLen
	kindStatus
	kindFlushed
	kindCount
)

// Check is one expectation on a response.
type Check struct {
	kind   checkKind
	name   string
	value  string
	values []string
	n      int
	inner  *Check
}

// Header checks that field name has exactly one line, equal to value.
func Header(name, value string) Check { return Check{kind: kindHeader, name: name, value: value} }

// HeaderContains checks that field name (its lines joined with ", ") contains sub.
func HeaderContains(name, sub string) Check {
	return Check{kind: kindHeaderContains, name: name, value: sub}
}

// HeaderNotContains checks that field name does not contain sub (an absent field passes).
func HeaderNotContains(name, sub string) Check {
	return Check{kind: kindHeaderNotContains, name: name, value: sub}
}

// HeaderAbsent checks that the response has no field name.
func HeaderAbsent(name string) Check { return Check{kind: kindHeaderAbsent, name: name} }

// HeaderPresent checks that the response has field name, with any value.
func HeaderPresent(name string) Check { return Check{kind: kindHeaderPresent, name: name} }

// HeaderValues checks the exact field lines of name, in order.
func HeaderValues(name string, values ...string) Check {
	return Check{kind: kindHeaderValues, name: name, values: values}
}

// Body checks the whole body.
func Body(s string) Check { return Check{kind: kindBody, value: s} }

// BodyContains checks that the body contains s.
func BodyContains(s string) Check { return Check{kind: kindBodyContains, value: s} }

// BodyNotContains checks that the body does not contain s.
func BodyNotContains(s string) Check { return Check{kind: kindBodyNotContains, value: s} }

// BodyLen checks the body's length.
func BodyLen(n int) Check { return Check{kind: kindBodyLen, n: n} }

// Status checks the status; used inside Count.
func Status(code int) Check { return Check{kind: kindStatus, n: code} }

// Flushed checks that the handler's Flush reached the client's writer.
func Flushed() Check { return Check{kind: kindFlushed} }

// Count checks that exactly n of a parallel step's responses pass c.
func Count(n int, c Check) Check { return Check{kind: kindCount, n: n, inner: &c} }

// CacheStatus checks the whole Cache-Status field.
func CacheStatus(v string) Check { return Header("Cache-Status", v) }

func (c Check) String() string {
	switch c.kind {
	case kindHeader:
		return fmt.Sprintf("%s == %q", c.name, c.value)
	case kindHeaderContains:
		return fmt.Sprintf("%s contains %q", c.name, c.value)
	case kindHeaderNotContains:
		return fmt.Sprintf("%s lacks %q", c.name, c.value)
	case kindHeaderAbsent:
		return c.name + " absent"
	case kindHeaderPresent:
		return c.name + " present"
	case kindHeaderValues:
		return fmt.Sprintf("%s lines == %q", c.name, c.values)
	case kindBody:
		return fmt.Sprintf("body == %q", c.value)
	case kindBodyContains:
		return fmt.Sprintf("body contains %q", c.value)
	case kindBodyNotContains:
		return fmt.Sprintf("body lacks %q", c.value)
	case kindBodyLen:
		return fmt.Sprintf("body length == %d", c.n)
	case kindStatus:
		return fmt.Sprintf("status == %d", c.n)
	case kindFlushed:
		return "flushed"
	case kindCount:
		return fmt.Sprintf("%d × (%s)", c.n, c.inner)
	}
	return "?"
}

// check returns "" when res passes, else a message.
func (c Check) check(res *response) string {
	h := res.header
	joined := strings.Join(h.Values(c.name), ", ")
	switch c.kind {
	case kindHeader:
		if v := h.Values(c.name); len(v) != 1 || v[0] != c.value {
			return fmt.Sprintf("%s: got %q, want %q", c.name, v, c.value)
		}
	case kindHeaderContains:
		if len(h.Values(c.name)) == 0 || !strings.Contains(joined, c.value) {
			return fmt.Sprintf("%s: got %q, want it to contain %q", c.name, joined, c.value)
		}
	case kindHeaderNotContains:
		if strings.Contains(joined, c.value) {
			return fmt.Sprintf("%s: got %q, want it without %q", c.name, joined, c.value)
		}
	case kindHeaderAbsent:
		if v := h.Values(c.name); len(v) > 0 {
			return fmt.Sprintf("%s: got %q, want no such field", c.name, v)
		}
	case kindHeaderPresent:
		if len(h.Values(c.name)) == 0 {
			return fmt.Sprintf("%s: missing", c.name)
		}
	case kindHeaderValues:
		got := h.Values(c.name)
		if len(got) != len(c.values) {
			return fmt.Sprintf("%s lines: got %q, want %q", c.name, got, c.values)
		}
		for i := range got {
			if got[i] != c.values[i] {
				return fmt.Sprintf("%s lines: got %q, want %q", c.name, got, c.values)
			}
		}
	case kindBody:
		if res.body != c.value {
			return fmt.Sprintf("body: got %q, want %q", clip(res.body), clip(c.value))
		}
	case kindBodyContains:
		if !strings.Contains(res.body, c.value) {
			return fmt.Sprintf("body: got %q, want it to contain %q", clip(res.body), c.value)
		}
	case kindBodyNotContains:
		if strings.Contains(res.body, c.value) {
			return fmt.Sprintf("body: got %q, want it without %q", clip(res.body), c.value)
		}
	case kindBodyLen:
		if len(res.body) != c.n {
			return fmt.Sprintf("body length: got %d, want %d", len(res.body), c.n)
		}
	case kindStatus:
		if res.status != c.n {
			return fmt.Sprintf("status: got %d, want %d", res.status, c.n)
		}
	case kindFlushed:
		if !res.flushed {
			return "the response was not flushed to the client"
		}
	}
	return ""
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// redisL2 is the Redis L2 and fleet of a scenario's caches (closed by t.Cleanup), with the
// namespace as its prefix. Its per-call timeout is generous: these tests check semantics, not
// latency, and a loaded test machine must not trip the breaker.
func redisL2(t *testing.T, client redis.UniversalClient, namespace string) *redisstore.Store {
	t.Helper()
	rs, err := redisstore.New(client, redisstore.Options{Prefix: namespace, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("redisstore.New: %v", err)
	}
	t.Cleanup(func() { _ = rs.Close() })
	return rs
}
