package metrics

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-cache/strata/appcache"
)

// AppCache is an appcache.Observer that records the value cache's events as Prometheus
// series beside the HTTP cache's, under the same namespace with "app" after it:
//
//	<ns>_app_hits_total{level, stale, negative}    answers from a tier
//	<ns>_app_misses_total                          Fetch calls that waited for a load
//	<ns>_app_loads_total{background, outcome}      loader runs: ok, not_found, error
//	<ns>_app_load_seconds{background}              loader time
//	<ns>_app_errors_total{op}                      tier, fleet and codec failures
//	<ns>_app_invalidations_total{kind}             keys invalidated: key, set, tag, remote
//
// Keys are never labels (they are unbounded). It is safe for concurrent use.
type AppCache struct {
	appcache.NopObserver
	hits          *prometheus.CounterVec
	misses        prometheus.Counter
	loads         *prometheus.CounterVec
	loadTime      *prometheus.HistogramVec
	errs          *prometheus.CounterVec
	invalidations *prometheus.CounterVec
}

var _ appcache.Observer = (*AppCache)(nil)

// NewAppCache registers the value cache's series on reg (Options as for New: Namespace,
// ConstLabels, Buckets).
func NewAppCache(reg prometheus.Registerer, opts Options) *AppCache {
	ns := opts.Namespace
	if ns == "" {
		ns = "strata"
	}
	buckets := opts.Buckets
	if len(buckets) == 0 {
		buckets = prometheus.DefBuckets
	}
	o := &AppCache{
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "app", Name: "hits_total",
			Help: "Value cache answers from a tier.", ConstLabels: opts.ConstLabels}, []string{"level", "stale", "negative"}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: "app", Name: "misses_total",
			Help: "Value cache lookups that waited for a load.", ConstLabels: opts.ConstLabels}),
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "app", Name: "loads_total",
			Help: "Loader runs by outcome (ok, not_found, error).", ConstLabels: opts.ConstLabels}, []string{"background", "outcome"}),
		loadTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: "app", Name: "load_seconds",
			Help: "Loader run time.", ConstLabels: opts.ConstLabels, Buckets: buckets}, []string{"background"}),
		errs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "app", Name: "errors_total",
			Help: "Value cache tier, fleet and codec failures.", ConstLabels: opts.ConstLabels}, []string{"op"}),
		invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: "app", Name: "invalidations_total",
			Help: "Value cache keys invalidated, by kind.", ConstLabels: opts.ConstLabels}, []string{"kind"}),
	}
	reg.MustRegister(o.hits, o.misses, o.loads, o.loadTime, o.errs, o.invalidations)
	return o
}

// Hit implements appcache.Observer.
func (o *AppCache) Hit(_ string, level appcache.Level, stale, negative bool) {
	o.hits.WithLabelValues(level.String(), strconv.FormatBool(stale), strconv.FormatBool(negative)).Inc()
}

// Miss implements appcache.Observer.
func (o *AppCache) Miss(string) { o.misses.Inc() }

// Load implements appcache.Observer.
func (o *AppCache) Load(_ string, d time.Duration, background bool, err error) {
	outcome := "ok"
	switch {
	case errors.Is(err, appcache.ErrNotFound):
		outcome = "not_found"
	case err != nil:
		outcome = "error"
	}
	bg := strconv.FormatBool(background)
	o.loads.WithLabelValues(bg, outcome).Inc()
	o.loadTime.WithLabelValues(bg).Observe(d.Seconds())
}

// Error implements appcache.Observer.
func (o *AppCache) Error(op string, _ error) { o.errs.WithLabelValues(op).Inc() }

// Invalidate implements appcache.Observer.
func (o *AppCache) Invalidate(kind string, n int) {
	o.invalidations.WithLabelValues(kind).Add(float64(n))
}
