package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/metrics"
	"github.com/strata-cache/strata/store/redisstore"
)

// clock is an injected clock: freshness moves without sleeps.
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

func newCache(t *testing.T, cfg core.Config) *core.Cache {
	t.Helper()
	if cfg.Jitter == 0 {
		cfg.Jitter = -1
	}
	if cfg.Beta == 0 {
		cfg.Beta = -1 // no probabilistic early refresh: a deterministic script
	}
	c, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func get(t *testing.T, h http.Handler, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, kv := range hdr {
		k, v, _ := strings.Cut(kv, ":")
		r.Header.Set(k, strings.TrimSpace(v))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func wantCacheStatus(t *testing.T, w *httptest.ResponseRecorder, want string) {
	t.Helper()
	if got := w.Header().Get("Cache-Status"); got != want {
		t.Fatalf("Cache-Status: got %q, want %q", got, want)
	}
}

// samples gathers reg and renders the samples of the named families as
// `name{k="v",…}` → value; a histogram gives its `_count`.
func samples(t *testing.T, reg prometheus.Gatherer, names ...string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	for _, mf := range mfs {
		if !slices.Contains(names, mf.GetName()) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var lp []string
			for _, l := range m.GetLabel() {
				lp = append(lp, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(lp)
			name := mf.GetName()
			var v float64
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				name += "_count"
				v = float64(m.GetHistogram().GetSampleCount())
			}
			out[name+"{"+strings.Join(lp, ",")+"}"] = v
		}
	}
	return out
}

func wantSamples(t *testing.T, got, want map[string]float64) {
	t.Helper()
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !wok:
			t.Errorf("unexpected sample %s = %v", k, g)
		case !gok:
			t.Errorf("missing sample %s, want %v", k, w)
		case g != w:
			t.Errorf("%s: got %v, want %v", k, g, w)
		}
	}
}

// TestScriptedSequence drives a cache through miss, hit, 304, stale-while-revalidate,
// revalidation, purge and an unstorable route, then checks every counter.
func TestScriptedSequence(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.Options{})
	clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	c := newCache(t, core.Config{Clock: clk.Now, Observer: m})
	m.Attach(c)

	runs := map[string]int{}
	var mu sync.Mutex
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		runs[r.URL.Path]++
		mu.Unlock()
		clk.Advance(5 * time.Millisecond) // the origin takes time
		switch r.URL.Path {
		case "/items/1":
			w.Header().Set("Cache-Control", "public, max-age=10, stale-while-revalidate=30")
			w.Header().Set("Etag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = io.WriteString(w, "item 1")
		case "/private":
			w.Header().Set("Cache-Control", "private, max-age=60")
			_, _ = io.WriteString(w, "mine")
		default:
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = io.WriteString(w, "plain")
		}
	})
	route := func(r *http.Request) string {
		switch {
		case strings.HasPrefix(r.URL.Path, "/items/"):
			return "/items/{id}"
		case r.URL.Path == "/private":
			return "/private"
		}
		return ""
	}
	routed := c.Handler(app, core.HandlerOptions{Route: route})
	plain := c.Middleware(app) // no route: labelled "unknown"

	wantCacheStatus(t, get(t, routed, "/items/1"), "strata; fwd=uri-miss; ttl=10; stored")
	wantCacheStatus(t, get(t, routed, "/items/1"), "strata; hit; ttl=10")
	if w := get(t, routed, "/items/1", `If-None-Match: "v1"`); w.Code != http.StatusNotModified {
		t.Fatalf("conditional hit: status %d", w.Code)
	}
	clk.Advance(15 * time.Second) // stale, within stale-while-revalidate
	wantCacheStatus(t, get(t, routed, "/items/1"), "strata; hit; ttl=-5; detail=stale-while-revalidate")
	clk.Advance(50 * time.Second) // past stale-while-revalidate: revalidated in the foreground
	wantCacheStatus(t, get(t, routed, "/items/1"), "strata; fwd=stale; fwd-status=304; ttl=10; stored")
	if n, err := c.Purge(context.Background(), "http://example.com/items/1"); err != nil || n != 1 {
		t.Fatalf("Purge: %d, %v", n, err)
	}
	wantCacheStatus(t, get(t, routed, "/items/1"), "strata; fwd=uri-miss; ttl=10; stored")
	wantCacheStatus(t, get(t, routed, "/private"), "strata; fwd=uri-miss; fwd-status=200; detail=private")
	wantCacheStatus(t, get(t, routed, "/private"), "strata; fwd=uri-miss; fwd-status=200; detail=private")
	wantCacheStatus(t, get(t, plain, "/plain"), "strata; fwd=uri-miss; ttl=60; stored")
	wantCacheStatus(t, get(t, plain, "/plain"), "strata; hit; ttl=60")
	if _, err := c.PurgeTags(context.Background(), "none"); err != nil {
		t.Fatal(err)
	}
	if err := c.PurgeAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	// /items/1: miss, the background revalidation (304), the foreground one (304), miss.
	if runs["/items/1"] != 4 {
		t.Fatalf("origin runs of /items/1: got %d, want 4", runs["/items/1"])
	}

	// The testutil way, for one family in exposition format.
	const wantPurges = `
# HELP strata_purges_total Purges, by kind (url, tag, all).
# TYPE strata_purges_total counter
strata_purges_total{kind="all"} 1
strata_purges_total{kind="tag"} 1
strata_purges_total{kind="url"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(wantPurges), "strata_purges_total"); err != nil {
		t.Error(err)
	}

	results := []string{"bypass", "hit", "stale", "miss", "revalidated", "negative_hit", "not_modified", "collapsed"}
	want := map[string]float64{}
	for _, route := range []string{"/items/{id}", "/private", "unknown"} {
		for _, r := range results {
			want[fmt.Sprintf("strata_requests_total{result=%q,route=%q}", r, route)] = 0
		}
	}
	set := func(route, result string, n float64) {
		want[fmt.Sprintf("strata_requests_total{result=%q,route=%q}", result, route)] = n
		want[fmt.Sprintf("strata_request_duration_seconds_count{result=%q,route=%q}", result, route)] = n
	}
	set("/items/{id}", "miss", 2)
	set("/items/{id}", "hit", 1)
	set("/items/{id}", "not_modified", 1)
	set("/items/{id}", "stale", 1)
	set("/items/{id}", "revalidated", 1)
	set("/private", "miss", 2)
	set("unknown", "miss", 1)
	set("unknown", "hit", 1)
	for k, v := range map[string]float64{
		// Origin time is observed for requests that ran the handler and answered a client.
		`strata_origin_duration_seconds_count{route="/items/{id}"}`: 3,
		`strata_origin_duration_seconds_count{route="/private"}`:    2,
		`strata_origin_duration_seconds_count{route="unknown"}`:     1,
		// Stores: two misses and two revalidations (one in the background).
		`strata_stores_total{route="/items/{id}"}`:                         4,
		`strata_stores_total{route="/private"}`:                            0,
		`strata_stores_total{route="unknown"}`:                             1,
		`strata_store_rejections_total{reason="private",route="/private"}`: 2,
		`strata_tier_hits_total{tier="l1"}`:                                4, // hit, 304, stale, unknown hit
		`strata_tier_hits_total{tier="l2"}`:                                0,
		`strata_purges_total{kind="url"}`:                                  1,
		`strata_purges_total{kind="tag"}`:                                  1,
		`strata_purges_total{kind="all"}`:                                  1,
		`strata_purged_entries_total{kind="url"}`:                          1,
		`strata_coalesced_waiters_total{outcome="served"}`:                 0,
		`strata_coalesced_waiters_total{outcome="fallthrough"}`:            0,
	} {
		want[k] = v
	}
	got := samples(t, reg, "strata_requests_total", "strata_request_duration_seconds", "strata_origin_duration_seconds",
		"strata_stores_total", "strata_store_rejections_total", "strata_tier_hits_total", "strata_purges_total",
		"strata_purged_entries_total", "strata_coalesced_waiters_total", "strata_store_errors_total")
	wantSamples(t, got, want)

	// The origin histogram holds the 5 ms each handler run took on the injected clock.
	if n := testutil.CollectAndCount(m, "strata_l1_entries", "strata_l1_bytes", "strata_l1_hits_total"); n != 3 {
		t.Errorf("L1 gauges: got %d series, want 3", n)
	}
	st := samples(t, reg, "strata_l1_entries", "strata_l1_hits_total", "strata_l2_breaker_state")
	if st["strata_l1_entries{}"] < 1 || st["strata_l1_hits_total{}"] < 4 {
		t.Errorf("L1 figures not read from the cache: %v", st)
	}
	if _, ok := st[`strata_l2_breaker_state{state="closed"}`]; ok {
		t.Error("L2 series without an L2")
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestOriginHistogramBuckets(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.Options{Buckets: []float64{0.001, 0.01}})
	m.Request(core.Event{Route: "/r", Result: core.ResultMiss, Duration: 6 * time.Millisecond, Origin: 5 * time.Millisecond})
	m.Request(core.Event{Route: "/r", Result: core.ResultHit, Duration: 50 * time.Microsecond})
	const want = `
# HELP strata_origin_duration_seconds Time in the handler (the origin), for requests that ran it, by route pattern.
# TYPE strata_origin_duration_seconds histogram
strata_origin_duration_seconds_bucket{route="/r",le="0.001"} 0
strata_origin_duration_seconds_bucket{route="/r",le="0.01"} 1
strata_origin_duration_seconds_bucket{route="/r",le="+Inf"} 1
strata_origin_duration_seconds_sum{route="/r"} 0.005
strata_origin_duration_seconds_count{route="/r"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "strata_origin_duration_seconds"); err != nil {
		t.Error(err)
	}
}

func TestWaiterErrorsAndPurges(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.Options{Namespace: "app", ConstLabels: prometheus.Labels{"cache": "api"}})
	m.Waiter(3*time.Millisecond, true)
	m.Waiter(2*time.Second, false)
	m.Waiter(time.Millisecond, true)
	m.Error("l2", "get")
	m.Error("l2", "get")
	m.Error("l1", "set")
	m.Purge("tag", 7)
	m.Store("/x", "no-store", false)
	m.Store("/x", "no-store", false)
	m.Store("/x", "set-cookie", false)
	got := samples(t, reg, "app_coalesced_waiters_total", "app_coalesced_wait_seconds", "app_store_errors_total",
		"app_purges_total", "app_purged_entries_total", "app_store_rejections_total")
	wantSamples(t, got, map[string]float64{
		`app_coalesced_waiters_total{cache="api",outcome="served"}`:              2,
		`app_coalesced_waiters_total{cache="api",outcome="fallthrough"}`:         1,
		`app_coalesced_wait_seconds_count{cache="api"}`:                          3,
		`app_store_errors_total{cache="api",op="get",tier="l2"}`:                 2,
		`app_store_errors_total{cache="api",op="set",tier="l1"}`:                 1,
		`app_purges_total{cache="api",kind="tag"}`:                               1,
		`app_purged_entries_total{cache="api",kind="tag"}`:                       7,
		`app_store_rejections_total{cache="api",reason="no-store",route="/x"}`:   2,
		`app_store_rejections_total{cache="api",reason="set-cookie",route="/x"}`: 1,
	})
}

func TestMaxRoutes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.Options{MaxRoutes: 2})
	for _, route := range []string{"/a", "/b", "/c", "/d", "/a", ""} {
		m.Request(core.Event{Route: route, Result: core.ResultHit})
	}
	got := samples(t, reg, "strata_requests_total")
	for k, want := range map[string]float64{
		`strata_requests_total{result="hit",route="/a"}`:    2,
		`strata_requests_total{result="hit",route="/b"}`:    1,
		`strata_requests_total{result="hit",route="other"}`: 3, // /c, /d and "" (unknown) past the cap
	} {
		if got[k] != want {
			t.Errorf("%s: got %v, want %v", k, got[k], want)
		}
	}
	if _, ok := got[`strata_requests_total{result="hit",route="/c"}`]; ok {
		t.Error("a route past MaxRoutes got its own series")
	}
}

func TestUnknownResult(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.Options{})
	m.Request(core.Event{Route: "/r", Result: core.Result(200)})
	if got := samples(t, reg, "strata_requests_total")[`strata_requests_total{result="unknown",route="/r"}`]; got != 1 {
		t.Fatalf("unknown result: got %v, want 1", got)
	}
}

func TestNilRegistererAndDuplicate(t *testing.T) {
	m := metrics.New(nil, metrics.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	defer func() {
		if recover() == nil {
			t.Fatal("registering a second observer with the same names did not panic")
		}
	}()
	metrics.New(reg, metrics.Options{})
}

// TestRedisFigures checks the L2 series read at scrape time: the breaker opens when Redis
// goes away, and the cache's L2 errors are counted.
func TestRedisFigures(t *testing.T) {
	srv := redistest.Start(t)
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.Options{})
	l2, err := redisstore.NewFromURL(srv.URL(), redisstore.Options{BreakerFailures: 2, BreakerCooldown: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l2.Close() })
	c := newCache(t, core.Config{L2: l2, Observer: m})
	m.Attach(c)
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "x")
	}))
	get(t, h, "/one")
	got := samples(t, reg, "strata_l2_breaker_state")
	if got[`strata_l2_breaker_state{state="closed"}`] != 1 || got[`strata_l2_breaker_state{state="open"}`] != 0 {
		t.Fatalf("breaker with Redis up: %v", got)
	}
	srv.Stop()
	for i := range 5 {
		get(t, h, fmt.Sprintf("/down/%d", i))
	}
	got = samples(t, reg, "strata_l2_breaker_state", "strata_l2_breaker_opens_total", "strata_l2_errors_total")
	if got[`strata_l2_breaker_state{state="open"}`] != 1 || got[`strata_l2_breaker_opens_total{}`] != 1 || got[`strata_l2_errors_total{}`] < 2 {
		t.Fatalf("breaker with Redis down: %v", got)
	}
	// Only real failures count as errors; calls refused by the open breaker are rejections.
	if n := samples(t, reg, "strata_store_errors_total")[`strata_store_errors_total{op="get",tier="l2"}`]; n < 1 {
		t.Fatalf("L2 get errors seen by the cache: got %v, want at least 1", n)
	}
}
