package strataotel_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-cache/strata/core"
	strataotel "github.com/strata-cache/strata/otel"
)

// env is an observer wired to in-memory SDK providers, a real cache and a server whose
// outer handler starts a span per request, as an instrumented router would.
type env struct {
	obs    *strataotel.Observer
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	cache  *core.Cache
	h      http.Handler
	calls  int // handler runs
}

const originSleep = 2 * time.Millisecond

func newEnv(t *testing.T, opts strataotel.Options, sampler sdktrace.Sampler) *env {
	t.Helper()
	e := &env{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	if sampler == nil {
		sampler = sdktrace.AlwaysSample()
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.spans), sdktrace.WithSampler(sampler))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader))
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	opts.TracerProvider, opts.MeterProvider = tp, mp
	obs, err := strataotel.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Close() })
	e.obs = obs
	c, err := core.New(core.Config{Observer: obs, Jitter: -1, Beta: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	obs.Attach(c)
	e.cache = c

	mux := http.NewServeMux()
	mux.HandleFunc("GET /a", func(w http.ResponseWriter, r *http.Request) {
		e.calls++
		time.Sleep(originSleep)
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "a")
	})
	mux.HandleFunc("GET /private", func(w http.ResponseWriter, r *http.Request) {
		e.calls++
		w.Header().Set("Cache-Control", "private, max-age=60")
		_, _ = io.WriteString(w, "p")
	})
	cached := c.Middleware(mux)
	tracer := tp.Tracer("test")
	e.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-No-Span") != "" {
			cached.ServeHTTP(w, r)
			return
		}
		ctx, span := tracer.Start(r.Context(), r.Method+" "+r.URL.Path)
		defer span.End()
		cached.ServeHTTP(w, r.WithContext(ctx))
	})
	return e
}

func (e *env) get(t *testing.T, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, w.Code)
	}
	return w
}

// requestSpans are the ended spans the outer handler started, in order.
func (e *env) requestSpans() []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range e.spans.Ended() {
		if s.Name() != strataotel.SpanName {
			out = append(out, s)
		}
	}
	return out
}

// cacheEvent returns the attributes of the span's single strata.cache event.
func cacheEvent(t *testing.T, s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	t.Helper()
	var found []sdktrace.Event
	for _, ev := range s.Events() {
		if ev.Name == strataotel.EventName {
			found = append(found, ev)
		}
	}
	if len(found) != 1 {
		t.Fatalf("span %q: %d %s events, want 1", s.Name(), len(found), strataotel.EventName)
	}
	return attrMap(found[0].Attributes)
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// wantAttrs checks the attributes that must be there, with their values, and those that must
// not.
func wantAttrs(t *testing.T, what string, got map[attribute.Key]attribute.Value, want map[attribute.Key]any, absent ...attribute.Key) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: no %s attribute (have %v)", what, k, got)
			continue
		}
		if g.AsInterface() != v {
			t.Errorf("%s: %s = %v (%T), want %v (%T)", what, k, g.AsInterface(), g.AsInterface(), v, v)
		}
	}
	for _, k := range absent {
		if g, ok := got[k]; ok {
			t.Errorf("%s: unexpected %s = %v", what, k, g.AsInterface())
		}
	}
}

// metrics collects the reader's metrics by name.
func (e *env) metrics(t *testing.T) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != strataotel.ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, strataotel.ScopeName)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// value is the int64 sum or gauge point of the named metric with exactly these attributes;
// ok is false when there is no such point.
func value(t *testing.T, ms map[string]metricdata.Aggregation, name string, kv ...attribute.KeyValue) (v int64, ok bool) {
	t.Helper()
	want := attribute.NewSet(kv...)
	var pts []metricdata.DataPoint[int64]
	switch a := ms[name].(type) {
	case metricdata.Sum[int64]:
		pts = a.DataPoints
	case metricdata.Gauge[int64]:
		pts = a.DataPoints
	case nil:
		return 0, false
	default:
		t.Fatalf("%s: aggregation %T", name, a)
	}
	for _, p := range pts {
		if p.Attributes.Equals(&want) {
			return p.Value, true
		}
	}
	return 0, false
}

func wantValue(t *testing.T, ms map[string]metricdata.Aggregation, want int64, name string, kv ...attribute.KeyValue) {
	t.Helper()
	got, ok := value(t, ms, name, kv...)
	if !ok {
		t.Errorf("%s%v: no data point (have %+v)", name, kv, ms[name])
		return
	}
	if got != want {
		t.Errorf("%s%v = %d, want %d", name, kv, got, want)
	}
}

// histogram is the point of the named histogram with exactly these attributes.
func histogram(t *testing.T, ms map[string]metricdata.Aggregation, name string, kv ...attribute.KeyValue) metricdata.HistogramDataPoint[float64] {
	t.Helper()
	want := attribute.NewSet(kv...)
	h, ok := ms[name].(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s: aggregation %T, want a float64 histogram", name, ms[name])
	}
	for _, p := range h.DataPoints {
		if p.Attributes.Equals(&want) {
			return p
		}
	}
	t.Fatalf("%s%v: no data point", name, kv)
	return metricdata.HistogramDataPoint[float64]{}
}

var (
	routeA    = strataotel.AttrRoute.String("/a")
	resMiss   = strataotel.AttrResult.String("miss")
	resHit    = strataotel.AttrResult.String("hit")
	resBypass = strataotel.AttrResult.String("bypass")
	tierL1    = strataotel.AttrTier.String("l1")
)

// TestEvents drives a real cache: a miss, a hit, a bypass (Authorization), a purge and the
// miss after it, each under a request span; each span gets one event with the decision.
func TestEvents(t *testing.T) {
	e := newEnv(t, strataotel.Options{}, nil)
	e.get(t, "/a")
	e.get(t, "/a")
	e.get(t, "/a", "Authorization", "Bearer x")
	n, err := e.cache.Purge(context.Background(), "http://example.com/a")
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("Purge removed %d entries, want 1", n)
	}
	e.get(t, "/a")
	if e.calls != 3 {
		t.Fatalf("handler ran %d times, want 3 (miss, bypass, miss after the purge)", e.calls)
	}

	spans := e.requestSpans()
	if len(spans) != 4 {
		t.Fatalf("%d request spans, want 4", len(spans))
	}
	miss := cacheEvent(t, spans[0])
	wantAttrs(t, "miss", miss, map[attribute.Key]any{
		strataotel.AttrResult: "miss", strataotel.AttrStored: true, strataotel.AttrRoute: "/a",
		strataotel.AttrStatus: int64(200),
	}, strataotel.AttrTier, strataotel.AttrReason)
	key := miss[strataotel.AttrKey].AsString()
	if key == "" {
		t.Error("miss: no key attribute")
	}
	if ms := miss[strataotel.AttrOriginMS].AsFloat64(); ms < float64(originSleep)/float64(time.Millisecond) {
		t.Errorf("miss: origin_ms = %v, want at least the handler's %v", ms, originSleep)
	}

	hit := cacheEvent(t, spans[1])
	wantAttrs(t, "hit", hit, map[attribute.Key]any{
		strataotel.AttrResult: "hit", strataotel.AttrStored: false, strataotel.AttrTier: "l1",
		strataotel.AttrRoute: "/a", strataotel.AttrStatus: int64(200), strataotel.AttrKey: key,
	}, strataotel.AttrOriginMS, strataotel.AttrReason)

	// Authorization: not looked up, the handler runs, and the answer (not public) is not
	// stored; the event carries the key the request would have filled.
	bypass := cacheEvent(t, spans[2])
	wantAttrs(t, "bypass", bypass, map[attribute.Key]any{
		strataotel.AttrResult: "bypass", strataotel.AttrStored: false, strataotel.AttrReason: "authorization",
		strataotel.AttrStatus: int64(200), strataotel.AttrRoute: "/a", strataotel.AttrKey: key,
	}, strataotel.AttrTier)
	if _, ok := bypass[strataotel.AttrOriginMS]; !ok {
		t.Error("bypass: no origin_ms, though the handler ran")
	}

	again := cacheEvent(t, spans[3])
	wantAttrs(t, "miss after purge", again, map[attribute.Key]any{
		strataotel.AttrResult: "miss", strataotel.AttrStored: true, strataotel.AttrKey: key,
	})
	for _, s := range e.spans.Ended() {
		if s.Name() == strataotel.SpanName {
			t.Errorf("ModeEvents started a %s span", s.Name())
		}
	}

	ms := e.metrics(t)
	wantValue(t, ms, 2, "strata.cache.requests", routeA, resMiss)
	wantValue(t, ms, 1, "strata.cache.requests", routeA, resHit, tierL1)
	if h := histogram(t, ms, "strata.cache.request.duration", routeA, resMiss); h.Count != 2 {
		t.Errorf("request.duration{miss} count %d, want 2", h.Count)
	} else if h.Sum < 2*originSleep.Seconds() {
		t.Errorf("request.duration{miss} sum %v s, want at least 2 × %v", h.Sum, originSleep)
	}
	if h := histogram(t, ms, "strata.cache.request.duration", routeA, resHit, tierL1); h.Count != 1 {
		t.Errorf("request.duration{hit} count %d, want 1", h.Count)
	}
	if h := histogram(t, ms, "strata.cache.origin.duration", routeA); h.Count != 3 {
		t.Errorf("origin.duration count %d, want 3 (the misses and the bypass)", h.Count)
	} else if len(h.Bounds) != len(strataotel.DefaultBuckets) || h.Bounds[0] != strataotel.DefaultBuckets[0] {
		t.Errorf("origin.duration bounds %v, want DefaultBuckets", h.Bounds)
	}
	wantValue(t, ms, 2, "strata.cache.stores", routeA, strataotel.AttrStored.Bool(true))
	wantValue(t, ms, 1, "strata.cache.purges", strataotel.AttrKind.String("url"))
	wantValue(t, ms, 1, "strata.cache.purge.entries", strataotel.AttrKind.String("url"))

	wantValue(t, ms, 1, "strata.cache.requests", routeA, resBypass)
	wantValue(t, ms, 1, "strata.cache.stores", routeA, strataotel.AttrStored.Bool(false), strataotel.AttrReason.String("authorization"))

	// The tiers' figures, read at collection time from the attached cache.
	st := e.cache.Stats()
	if !st.HasL1 {
		t.Fatal("the cache has no L1")
	}
	wantValue(t, ms, int64(st.L1.Entries), "strata.cache.l1.entries")
	if st.L1.Entries != 1 {
		t.Errorf("L1 entries %d, want 1 (the refill after the purge)", st.L1.Entries)
	}
	wantValue(t, ms, st.L1.Bytes, "strata.cache.l1.size")
	wantValue(t, ms, st.L1.Misses, "strata.cache.l1.misses")
	if _, ok := value(t, ms, "strata.cache.l2.hits"); ok {
		t.Error("l2.hits observed for a cache without an L2")
	}
	if _, ok := value(t, ms, "strata.cache.l2.breaker.state", strataotel.AttrState.String("closed")); ok {
		t.Error("l2.breaker.state observed for a cache without an L2")
	}

	// Detached, the figures are no longer observed.
	e.obs.Attach(nil)
	if _, ok := value(t, e.metrics(t), "strata.cache.l1.entries"); ok {
		t.Error("l1.entries observed after Attach(nil)")
	}
}

// TestStoreRejected: a response the cache may not store counts as a store attempt with its
// reason, and the miss event says why.
func TestStoreRejected(t *testing.T) {
	e := newEnv(t, strataotel.Options{}, nil)
	e.get(t, "/private")
	e.get(t, "/private")
	spans := e.requestSpans()
	if len(spans) != 2 {
		t.Fatalf("%d request spans, want 2", len(spans))
	}
	for _, s := range spans {
		wantAttrs(t, "private", cacheEvent(t, s), map[attribute.Key]any{
			strataotel.AttrResult: "miss", strataotel.AttrStored: false, strataotel.AttrReason: "private",
			strataotel.AttrRoute: "/private",
		})
	}
	ms := e.metrics(t)
	route := strataotel.AttrRoute.String("/private")
	wantValue(t, ms, 2, "strata.cache.stores", route, strataotel.AttrStored.Bool(false), strataotel.AttrReason.String("private"))
	if _, ok := value(t, ms, "strata.cache.stores", route, strataotel.AttrStored.Bool(true)); ok {
		t.Error("a private response counted as stored")
	}
	wantValue(t, ms, 2, "strata.cache.requests", route, resMiss)
}

// TestSpans: ModeSpans starts a child span per decision, backdated to when the request
// entered the cache and ended when it was answered.
func TestSpans(t *testing.T) {
	e := newEnv(t, strataotel.Options{Mode: strataotel.ModeSpans}, nil)
	e.get(t, "/a")
	e.get(t, "/a")

	var children []sdktrace.ReadOnlySpan
	for _, s := range e.spans.Ended() {
		if s.Name() == strataotel.SpanName {
			children = append(children, s)
		}
	}
	parents := e.requestSpans()
	if len(children) != 2 || len(parents) != 2 {
		t.Fatalf("%d child spans and %d request spans, want 2 and 2", len(children), len(parents))
	}
	for i, c := range children {
		p := parents[i]
		if len(p.Events()) != 0 {
			t.Errorf("request span %d has events %v in ModeSpans", i, p.Events())
		}
		if c.Parent().SpanID() != p.SpanContext().SpanID() || c.SpanContext().TraceID() != p.SpanContext().TraceID() {
			t.Errorf("child %d: parent %v, want the request span %v", i, c.Parent().SpanID(), p.SpanContext().SpanID())
		}
		if c.SpanKind() != trace.SpanKindInternal {
			t.Errorf("child %d: kind %v", i, c.SpanKind())
		}
		if c.StartTime().Before(p.StartTime()) || c.EndTime().After(p.EndTime()) {
			t.Errorf("child %d [%v, %v] is not within its parent [%v, %v]", i, c.StartTime(), c.EndTime(), p.StartTime(), p.EndTime())
		}
	}
	miss, hit := children[0], children[1]
	if d := miss.EndTime().Sub(miss.StartTime()); d < originSleep {
		t.Errorf("miss span lasted %v, want at least the handler's %v (backdated start)", d, originSleep)
	}
	wantAttrs(t, "miss span", attrMap(miss.Attributes()), map[attribute.Key]any{
		strataotel.AttrResult: "miss", strataotel.AttrStored: true, strataotel.AttrRoute: "/a",
	})
	wantAttrs(t, "hit span", attrMap(hit.Attributes()), map[attribute.Key]any{
		strataotel.AttrResult: "hit", strataotel.AttrTier: "l1",
	})
}

// TestNoRecordingSpan: without a span, or with one that is not sampled, nothing is traced;
// metrics are recorded all the same.
func TestNoRecordingSpan(t *testing.T) {
	for _, mode := range []strataotel.Mode{strataotel.ModeEvents, strataotel.ModeSpans} {
		e := newEnv(t, strataotel.Options{Mode: mode}, sdktrace.NeverSample())
		e.get(t, "/a")                   // unsampled span
		e.get(t, "/a", "X-No-Span", "1") // no span at all
		for _, s := range e.spans.Started() {
			if s.Name() == strataotel.SpanName || len(s.Events()) > 0 {
				t.Errorf("mode %d: recorded %q with %d events", mode, s.Name(), len(s.Events()))
			}
		}
		ms := e.metrics(t)
		wantValue(t, ms, 1, "strata.cache.requests", routeA, resMiss)
		wantValue(t, ms, 1, "strata.cache.requests", routeA, resHit, tierL1)
	}
}

// TestModeOff: metrics only, even under a recording span.
func TestModeOff(t *testing.T) {
	e := newEnv(t, strataotel.Options{Mode: strataotel.ModeOff}, nil)
	e.get(t, "/a")
	for _, s := range e.spans.Ended() {
		if s.Name() == strataotel.SpanName || len(s.Events()) > 0 {
			t.Errorf("ModeOff recorded %q with %d events", s.Name(), len(s.Events()))
		}
	}
	wantValue(t, e.metrics(t), 1, "strata.cache.requests", routeA, resMiss)
}

// TestDirect covers what a single cache without L2 or contention does not report: errors,
// waiters, tag purges, routes past MaxRoutes and results this package does not know.
func TestDirect(t *testing.T) {
	e := newEnv(t, strataotel.Options{MaxRoutes: 2}, nil)
	o := e.obs
	o.Error("l2", "get")
	o.Error("l2", "get")
	o.Error("l1", "set")
	o.Waiter(3*time.Millisecond, true)
	o.Waiter(time.Millisecond, false)
	o.Waiter(time.Millisecond, false)
	o.Purge("tag", 5)
	o.Purge("tag", 0)
	o.Purge("all", 0)
	ctx := context.Background()
	for _, r := range []string{"/one", "/two", "/three", "/four", ""} {
		o.Request(core.Event{Route: r, Result: core.ResultMiss, Context: ctx})
	}
	o.Request(core.Event{Route: "/one", Result: core.Result(200), Context: ctx})
	o.Request(core.Event{Route: "/one", Result: core.ResultHit, Tier: "l3", Context: ctx})
	o.Request(core.Event{Route: "/one", Result: core.ResultHit}) // no context: must not panic

	ms := e.metrics(t)
	tier, op := strataotel.AttrTier, strataotel.AttrOp
	wantValue(t, ms, 2, "strata.cache.errors", tier.String("l2"), op.String("get"))
	wantValue(t, ms, 1, "strata.cache.errors", tier.String("l1"), op.String("set"))
	wantValue(t, ms, 1, "strata.cache.coalesced.waiters", strataotel.AttrOutcome.String("served"))
	wantValue(t, ms, 2, "strata.cache.coalesced.waiters", strataotel.AttrOutcome.String("fallthrough"))
	if h := histogram(t, ms, "strata.cache.coalesced.wait.duration", strataotel.AttrOutcome.String("served")); h.Count != 1 || h.Sum != 0.003 {
		t.Errorf("coalesced.wait.duration{served}: count %d sum %v, want 1 and 0.003", h.Count, h.Sum)
	}
	kind := strataotel.AttrKind
	wantValue(t, ms, 2, "strata.cache.purges", kind.String("tag"))
	wantValue(t, ms, 1, "strata.cache.purges", kind.String("all"))
	wantValue(t, ms, 5, "strata.cache.purge.entries", kind.String("tag"))
	if _, ok := value(t, ms, "strata.cache.purge.entries", kind.String("all")); ok {
		t.Error("purge.entries{all} recorded for a purge that reported no count")
	}
	wantValue(t, ms, 1, "strata.cache.requests", strataotel.AttrRoute.String("/one"), resMiss)
	wantValue(t, ms, 1, "strata.cache.requests", strataotel.AttrRoute.String("/two"), resMiss)
	wantValue(t, ms, 3, "strata.cache.requests", strataotel.AttrRoute.String(strataotel.RouteOther), resMiss)
	if _, ok := value(t, ms, "strata.cache.requests", strataotel.AttrRoute.String("/three"), resMiss); ok {
		t.Error("a route past MaxRoutes got its own series")
	}
	wantValue(t, ms, 1, "strata.cache.requests", strataotel.AttrRoute.String("/one"), strataotel.AttrResult.String("unknown"))
	wantValue(t, ms, 1, "strata.cache.requests", strataotel.AttrRoute.String("/one"), resHit, tier.String("l3"))
	wantValue(t, ms, 1, "strata.cache.requests", strataotel.AttrRoute.String("/one"), resHit)
}
