package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-cache/strata/core"
)

// Options configures New. The zero value is a working default; every field's comment ends
// with its default.
type Options struct {
	// Namespace prefixes every metric name ("strata_requests_total"). Default "strata".
	Namespace string
	// ConstLabels are added to every metric, for example {"cache": "api"} when one process
	// runs several caches on one registry. Default none.
	ConstLabels prometheus.Labels
	// Buckets are the upper bounds, in seconds, of the duration histograms (lookup, origin
	// and coalesced wait). Default DefaultBuckets (50µs to 10s).
	Buckets []float64
	// MaxRoutes caps the number of distinct route labels; requests of further routes are
	// labelled "other", so an adapter that reports raw paths cannot explode the number of
	// series. Default 256; negative: no cap.
	MaxRoutes int
}

// DefaultBuckets spans a hit served from L1 (tens of microseconds) to a slow origin.
var DefaultBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Route labels for requests without a route pattern and for routes past Options.MaxRoutes.
const (
	RouteUnknown = "unknown"
	RouteOther   = "other"
)

// numResults is the number of core.Result values (bypass … collapsed).
const numResults = int(core.ResultCollapsed) + 1

// Prometheus is a core.Observer that exports to Prometheus. It is also a
// prometheus.Collector (New registers it). Safe for concurrent use.
type Prometheus struct {
	maxRoutes int

	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	origin     *prometheus.HistogramVec
	tierHits   *prometheus.CounterVec
	stores     *prometheus.CounterVec
	rejections *prometheus.CounterVec
	errors     *prometheus.CounterVec
	purges     *prometheus.CounterVec
	purged     *prometheus.CounterVec
	waiters    *prometheus.CounterVec
	waitTime   prometheus.Histogram

	// Pre-resolved children of the hot path.
	tierL1, tierL2           prometheus.Counter
	waitServed, waitFellThru prometheus.Counter

	routes  sync.Map // route label → *routeSet
	nroutes atomic.Int64

	stats *statsCollector
}

// routeSet holds the label children of one route, resolved once.
type routeSet struct {
	route    string
	requests [numResults]prometheus.Counter
	stores   prometheus.Counter
	duration [numResults]atomic.Pointer[observer] // created on first use
	origin   atomic.Pointer[observer]
	rejected sync.Map // reason → prometheus.Counter
}

type observer struct{ prometheus.Observer }

// New builds the observer and registers it with reg (nil: not registered; register it
// yourself, it is a prometheus.Collector). Registering two observers with the same Namespace
// and ConstLabels on one registry panics, as prometheus.MustRegister does.
func New(reg prometheus.Registerer, opts Options) *Prometheus {
	ns := opts.Namespace
	if ns == "" {
		ns = "strata"
	}
	buckets := opts.Buckets
	if len(buckets) == 0 {
		buckets = DefaultBuckets
	}
	maxRoutes := opts.MaxRoutes
	if maxRoutes == 0 {
		maxRoutes = 256
	}
	cl := opts.ConstLabels
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help, ConstLabels: cl}, labels)
	}
	histogram := func(name, help string, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: name, Help: help, ConstLabels: cl, Buckets: buckets}, labels)
	}
	p := &Prometheus{
		maxRoutes: maxRoutes,
		requests:  counter("requests_total", "Requests answered through the cache, by route pattern and result (hit, stale, miss, bypass, revalidated, negative_hit, not_modified, collapsed).", "route", "result"),
		duration:  histogram("request_duration_seconds", "Time in the cache middleware, handler included, by route pattern and result.", "route", "result"),
		origin:    histogram("origin_duration_seconds", "Time in the handler (the origin), for requests that ran it, by route pattern.", "route"),
		tierHits:  counter("tier_hits_total", "Stored answers read from a tier (l1, l2).", "tier"),
		stores:    counter("stores_total", "Responses stored, by route pattern.", "route"),
		rejections: counter("store_rejections_total",
			"Responses not stored, by route pattern and reason (private, no-store, no-freshness, set-cookie, status, …).", "route", "reason"),
		errors:  counter("store_errors_total", "L1/L2 store errors seen by the cache, by tier and operation.", "tier", "op"),
		purges:  counter("purges_total", "Purges, by kind (url, tag, all).", "kind"),
		purged:  counter("purged_entries_total", "Entries removed by purges, by kind (url, tag).", "kind"),
		waiters: counter("coalesced_waiters_total", "Requests that waited for another request's fill: served from it, or fallthrough (ran the handler themselves).", "outcome"),
		waitTime: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "coalesced_wait_seconds",
			Help: "How long requests waited for another request's fill.", ConstLabels: cl, Buckets: buckets}),
		stats: newStatsCollector(ns, cl),
	}
	p.tierL1 = p.tierHits.WithLabelValues("l1")
	p.tierL2 = p.tierHits.WithLabelValues("l2")
	p.waitServed = p.waiters.WithLabelValues("served")
	p.waitFellThru = p.waiters.WithLabelValues("fallthrough")
	if reg != nil {
		reg.MustRegister(p)
	}
	return p
}

var _ core.Observer = (*Prometheus)(nil)
var _ prometheus.Collector = (*Prometheus)(nil)

// Attach makes the tiers' figures (L1 entries and bytes, Redis breaker state and errors)
// part of every scrape, read from s (a *core.Cache) at scrape time. The cache is built after
// its Observer, hence this second step. Attach(nil) detaches.
func (p *Prometheus) Attach(s StatsSource) { p.stats.attach(s) }

// StatsSource is what Attach reads: *core.Cache implements it.
type StatsSource interface {
	Stats() core.Stats
}

// Describe implements prometheus.Collector.
func (p *Prometheus) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range p.collectors() {
		c.Describe(ch)
	}
	p.stats.Describe(ch)
}

// Collect implements prometheus.Collector.
func (p *Prometheus) Collect(ch chan<- prometheus.Metric) {
	for _, c := range p.collectors() {
		c.Collect(ch)
	}
	p.stats.Collect(ch)
}

func (p *Prometheus) collectors() [11]prometheus.Collector {
	return [...]prometheus.Collector{p.requests, p.duration, p.origin, p.tierHits, p.stores, p.rejections,
		p.errors, p.purges, p.purged, p.waiters, p.waitTime}
}

// Request implements core.Observer: one request answered through the cache.
func (p *Prometheus) Request(ev core.Event) {
	s := p.route(ev.Route)
	res := int(ev.Result)
	if res < numResults {
		s.requests[res].Inc()
		s.durationObserver(p, res).Observe(ev.Duration.Seconds())
	} else {
		// A Result this package does not know yet: slower, still labelled.
		name := ev.Result.String()
		p.requests.WithLabelValues(s.route, name).Inc()
		p.duration.WithLabelValues(s.route, name).Observe(ev.Duration.Seconds())
	}
	if ev.Origin > 0 {
		s.originObserver(p).Observe(ev.Origin.Seconds())
	}
	switch ev.Tier {
	case core.TierL1:
		p.tierL1.Inc()
	case core.TierL2:
		p.tierL2.Inc()
	}
}

// Store implements core.Observer: a store attempt, ok or rejected for reason.
func (p *Prometheus) Store(route string, reason core.Reason, ok bool) {
	s := p.route(route)
	if ok {
		s.stores.Inc()
		return
	}
	if c, found := s.rejected.Load(reason); found {
		c.(prometheus.Counter).Inc()
		return
	}
	c := p.rejections.WithLabelValues(s.route, string(reason))
	s.rejected.Store(reason, c)
	c.Inc()
}

// Error implements core.Observer: an L1/L2 error by tier and operation.
func (p *Prometheus) Error(tier core.TierName, op core.Op) {
	p.errors.WithLabelValues(string(tier), string(op)).Inc()
}

// Purge implements core.Observer: a purge by kind and the entries it removed.
func (p *Prometheus) Purge(kind core.PurgeKind, n int) {
	p.purges.WithLabelValues(string(kind)).Inc()
	if n > 0 {
		p.purged.WithLabelValues(string(kind)).Add(float64(n))
	}
}

// Waiter implements core.Observer: a request that waited for another's fill.
func (p *Prometheus) Waiter(d time.Duration, served bool) {
	if served {
		p.waitServed.Inc()
	} else {
		p.waitFellThru.Inc()
	}
	p.waitTime.Observe(d.Seconds())
}

// route returns the label children of a route pattern, creating them on first use.
func (p *Prometheus) route(route string) *routeSet {
	if route == "" {
		route = RouteUnknown
	}
	if s, ok := p.routes.Load(route); ok {
		return s.(*routeSet)
	}
	if p.maxRoutes > 0 && p.nroutes.Load() >= int64(p.maxRoutes) && route != RouteOther {
		return p.route(RouteOther)
	}
	s := &routeSet{route: route, stores: p.stores.WithLabelValues(route)}
	for r := range s.requests {
		s.requests[r] = p.requests.WithLabelValues(route, core.Result(r).String())
	}
	if prev, loaded := p.routes.LoadOrStore(route, s); loaded {
		return prev.(*routeSet)
	}
	p.nroutes.Add(1)
	return s
}

// durationObserver returns the lookup-latency child of (route, result). Histograms are
// created on first use: a route rarely sees every result.
func (s *routeSet) durationObserver(p *Prometheus, res int) prometheus.Observer {
	if o := s.duration[res].Load(); o != nil {
		return o.Observer
	}
	o := &observer{p.duration.WithLabelValues(s.route, core.Result(res).String())}
	s.duration[res].Store(o) // a racing Store holds the same child
	return o.Observer
}

func (s *routeSet) originObserver(p *Prometheus) prometheus.Observer {
	if o := s.origin.Load(); o != nil {
		return o.Observer
	}
	o := &observer{p.origin.WithLabelValues(s.route)}
	s.origin.Store(o)
	return o.Observer
}
