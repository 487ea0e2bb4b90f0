package strataotel

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/strata-cache/strata/core"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/strata-cache/strata/otel"

// Mode is what the Observer does for traces.
type Mode uint8

const (
	// ModeEvents adds an event named EventName to the request's current span, with the
	// decision's attributes. The default.
	ModeEvents Mode = iota
	// ModeSpans starts a child span named SpanName per request instead, from the moment the
	// request entered the cache to the moment it was answered.
	ModeSpans
	// ModeOff records metrics only.
	ModeOff
)

// EventName is the name of the span event (ModeEvents) and child span (ModeSpans).
const (
	EventName = "strata.cache"
	SpanName  = "strata.cache"
)

// Options configures New. The zero value is a working default; every field's comment ends
// with its default.
type Options struct {
	// TracerProvider starts the child spans of ModeSpans. Default: the global one
	// (otel.GetTracerProvider).
	TracerProvider trace.TracerProvider
	// MeterProvider creates the instruments. Default: the global one (otel.GetMeterProvider).
	MeterProvider metric.MeterProvider
	// Mode is what is recorded on the request's span. Default ModeEvents.
	Mode Mode
	// Buckets are the bucket boundaries, in seconds, advised for the duration histograms
	// (request, origin and coalesced wait); a view of the MeterProvider overrides them.
	// Default DefaultBuckets (50µs to 10s).
	Buckets []float64
	// MaxRoutes caps the number of distinct route attributes on metrics; requests of further
	// routes are recorded with route "other", so an adapter that reports raw paths cannot
	// explode the number of series. Spans always carry the route as reported. Default 256;
	// negative: no cap.
	MaxRoutes int
}

// DefaultBuckets spans a hit served from L1 (tens of microseconds) to a slow origin, as the
// metrics package's.
var DefaultBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Observer is a core.Observer that records what the cache does as OpenTelemetry metrics and
// as events (or child spans) on the request's span. Safe for concurrent use.
type Observer struct {
	mode      Mode
	tracer    trace.Tracer
	maxRoutes int

	requests metric.Int64Counter
	duration metric.Float64Histogram
	origin   metric.Float64Histogram
	stores   metric.Int64Counter
	errs     metric.Int64Counter
	purges   metric.Int64Counter
	purged   metric.Int64Counter
	waiters  metric.Int64Counter
	waitTime metric.Float64Histogram

	waitServed, waitFellThru *attrSet

	routes  sync.Map // route attribute → *routeSet
	nroutes atomic.Int64
	errSets sync.Map // [2]string{tier, op} → *attrSet
	kinds   sync.Map // purge kind → *attrSet

	tiers stats // the attached cache's figures
}

// attrSet is an attribute set resolved once, as the options the instruments take.
type attrSet struct {
	add []metric.AddOption
	rec []metric.RecordOption
}

func newAttrSet(kv ...attribute.KeyValue) *attrSet {
	o := metric.WithAttributeSet(attribute.NewSet(kv...))
	return &attrSet{add: []metric.AddOption{o}, rec: []metric.RecordOption{o}}
}

// routeSet holds the attribute sets of one route, created on first use.
type routeSet struct {
	route    string
	requests [numResults][numTiers]atomic.Pointer[attrSet] // requests and request duration
	origin   atomic.Pointer[attrSet]
	stored   atomic.Pointer[attrSet]
	rejected sync.Map // reason → *attrSet
}

// New builds the observer and its instruments. Pass it as core.Config.Observer, then Attach
// the cache for the tiers' figures.
func New(opts Options) (*Observer, error) {
	tp := opts.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	mp := opts.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	buckets := opts.Buckets
	if len(buckets) == 0 {
		buckets = DefaultBuckets
	}
	maxRoutes := opts.MaxRoutes
	if maxRoutes == 0 {
		maxRoutes = 256
	}
	o := &Observer{mode: opts.Mode, tracer: tp.Tracer(ScopeName), maxRoutes: maxRoutes}
	m := mp.Meter(ScopeName)

	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	histogram := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(buckets...))
		errs = append(errs, err)
		return h
	}
	o.requests = counter("strata.cache.requests", "{request}",
		"Requests answered through the cache, by route pattern, result (hit, stale, miss, bypass, revalidated, negative_hit, not_modified, collapsed) and tier (l1, l2) of a stored answer.")
	o.duration = histogram("strata.cache.request.duration", "Time in the cache middleware, handler included, by route pattern, result and tier.")
	o.origin = histogram("strata.cache.origin.duration", "Time in the handler (the origin), for requests that ran it, by route pattern.")
	o.stores = counter("strata.cache.stores", "{response}",
		"Store attempts, by route pattern and outcome (stored true, or false with the reason: private, no-store, no-freshness, set-cookie, status, …).")
	o.errs = counter("strata.cache.errors", "{error}", "L1/L2 store errors seen by the cache, by tier and operation.")
	o.purges = counter("strata.cache.purges", "{purge}", "Purges, by kind (url, tag, all).")
	o.purged = counter("strata.cache.purge.entries", "{entry}", "Entries removed by purges, by kind (url, tag).")
	o.waiters = counter("strata.cache.coalesced.waiters", "{request}",
		"Requests that waited for another request's fill: served from it, or fallthrough (ran the handler themselves).")
	o.waitTime = histogram("strata.cache.coalesced.wait.duration", "How long requests waited for another request's fill.")
	o.waitServed = newAttrSet(AttrOutcome.String(outcomeLabel(true)))
	o.waitFellThru = newAttrSet(AttrOutcome.String(outcomeLabel(false)))

	errs = append(errs, o.tiers.init(m))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return o, nil
}

var _ core.Observer = (*Observer)(nil)

// Request implements core.Observer: one request answered through the cache.
func (o *Observer) Request(ev core.Event) {
	ctx := ev.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if o.mode != ModeOff {
		o.trace(ctx, &ev)
	}
	s := o.route(ev.Route)
	a := s.request(ev.Result, ev.Tier)
	o.requests.Add(ctx, 1, a.add...)
	o.duration.Record(ctx, ev.Duration.Seconds(), a.rec...)
	if ev.Origin > 0 {
		o.origin.Record(ctx, ev.Origin.Seconds(), s.originSet().rec...)
	}
}

// Store implements core.Observer: a store attempt, ok or rejected for reason.
func (o *Observer) Store(route string, reason core.Reason, ok bool) {
	s := o.route(route)
	o.stores.Add(context.Background(), 1, s.storeSet(ok, reason).add...)
}

// Error implements core.Observer: an L1/L2 error by tier and operation.
func (o *Observer) Error(tier tierName, op opName) {
	k := [2]string{tierLabel(tier), opLabel(op)}
	a, found := o.errSets.Load(k)
	if !found {
		a, _ = o.errSets.LoadOrStore(k, newAttrSet(AttrTier.String(k[0]), AttrOp.String(k[1])))
	}
	o.errs.Add(context.Background(), 1, a.(*attrSet).add...)
}

// Purge implements core.Observer: a purge by kind and the entries it removed.
func (o *Observer) Purge(kind purgeKind, n int) {
	k := kindLabel(kind)
	a, found := o.kinds.Load(k)
	if !found {
		a, _ = o.kinds.LoadOrStore(k, newAttrSet(AttrKind.String(k)))
	}
	ctx := context.Background()
	o.purges.Add(ctx, 1, a.(*attrSet).add...)
	if n > 0 {
		o.purged.Add(ctx, int64(n), a.(*attrSet).add...)
	}
}

// Waiter implements core.Observer: a request that waited for another's fill.
func (o *Observer) Waiter(d time.Duration, served bool) {
	a := o.waitFellThru
	if served {
		a = o.waitServed
	}
	ctx := context.Background()
	o.waiters.Add(ctx, 1, a.add...)
	o.waitTime.Record(ctx, d.Seconds(), a.rec...)
}

// route returns the attribute sets of a route pattern, creating them on first use.
func (o *Observer) route(route string) *routeSet {
	if route == "" {
		route = RouteUnknown
	}
	if s, ok := o.routes.Load(route); ok {
		return s.(*routeSet)
	}
	if o.maxRoutes > 0 && o.nroutes.Load() >= int64(o.maxRoutes) && route != RouteOther {
		return o.route(RouteOther)
	}
	s, loaded := o.routes.LoadOrStore(route, &routeSet{route: route})
	if !loaded {
		o.nroutes.Add(1)
	}
	return s.(*routeSet)
}

// request returns the set of (route, result, tier); a result or tier this package does not
// know yet is labelled all the same, with a set built per call.
func (s *routeSet) request(r core.Result, tier tierName) *attrSet {
	t := tierIndex(tier)
	if int(r) >= numResults || t < 0 {
		return s.newRequestSet(r, tier)
	}
	p := &s.requests[r][t]
	if a := p.Load(); a != nil {
		return a
	}
	a := s.newRequestSet(r, tier)
	p.Store(a) // a racing Store holds an equal set
	return a
}

func (s *routeSet) newRequestSet(r core.Result, tier tierName) *attrSet {
	if t := tierLabel(tier); t != "" {
		return newAttrSet(AttrRoute.String(s.route), resultAttr(r), AttrTier.String(t))
	}
	return newAttrSet(AttrRoute.String(s.route), resultAttr(r))
}

func (s *routeSet) originSet() *attrSet {
	if a := s.origin.Load(); a != nil {
		return a
	}
	a := newAttrSet(AttrRoute.String(s.route))
	s.origin.Store(a)
	return a
}

func (s *routeSet) storeSet(ok bool, reason core.Reason) *attrSet {
	if ok {
		if a := s.stored.Load(); a != nil {
			return a
		}
		a := newAttrSet(AttrRoute.String(s.route), AttrStored.Bool(true))
		s.stored.Store(a)
		return a
	}
	if a, found := s.rejected.Load(reason); found {
		return a.(*attrSet)
	}
	a, _ := s.rejected.LoadOrStore(reason, newAttrSet(AttrRoute.String(s.route), AttrStored.Bool(false),
		AttrReason.String(reasonLabel(reason))))
	return a.(*attrSet)
}
