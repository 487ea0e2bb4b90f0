package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-cache/strata/store"
)

// statsCollector reads the tiers' figures from the cache at scrape time (core.Cache.Stats),
// so nothing on the request path pays for them.
type statsCollector struct {
	src atomic.Pointer[sourceBox]

	l1Entries, l1Bytes                                 *prometheus.Desc
	l1Hits, l1Misses, l1Expired, l1Evictions           *prometheus.Desc
	l2Breaker, l2Opens                                 *prometheus.Desc
	l2Hits, l2Misses, l2Errors, l2Timeouts, l2Rejected *prometheus.Desc
}

type sourceBox struct{ s StatsSource }

// breakerStates are the values of the state label of l2_breaker_state.
var breakerStates = [...]store.BreakerState{store.BreakerClosed, store.BreakerOpen, store.BreakerHalfOpen}

func newStatsCollector(ns string, cl prometheus.Labels) *statsCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, labels, cl)
	}
	return &statsCollector{
		l1Entries:   d("l1_entries", "Entries held by the in-process L1, expired ones not yet removed included."),
		l1Bytes:     d("l1_bytes", "Bytes the L1 has allocated for entries (grows up to its limit)."),
		l1Hits:      d("l1_hits_total", "L1 reads that found a live entry."),
		l1Misses:    d("l1_misses_total", "L1 reads that found nothing (expired entries and hash collisions included)."),
		l1Expired:   d("l1_expired_total", "L1 reads that found an entry past its expiry."),
		l1Evictions: d("l1_evictions_total", "Live L1 entries dropped for room."),
		l2Breaker:   d("l2_breaker_state", "Redis circuit breaker: 1 for the current state.", "state"),
		l2Opens:     d("l2_breaker_opens_total", "Times the Redis circuit breaker opened."),
		l2Hits:      d("l2_hits_total", "Redis reads that found a usable value (one this version of the cache can decode)."),
		l2Misses:    d("l2_misses_total", "Redis reads that found nothing, or a value the cache cannot use."),
		l2Errors:    d("l2_errors_total", "Failed Redis calls, timeouts included."),
		l2Timeouts:  d("l2_timeouts_total", "Redis calls that ran out of their timeout."),
		l2Rejected:  d("l2_rejected_total", "Redis calls refused by the open circuit breaker."),
	}
}

func (c *statsCollector) attach(s StatsSource) {
	if s == nil {
		c.src.Store(nil)
		return
	}
	c.src.Store(&sourceBox{s})
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range [...]*prometheus.Desc{c.l1Entries, c.l1Bytes, c.l1Hits, c.l1Misses, c.l1Expired, c.l1Evictions,
		c.l2Breaker, c.l2Opens, c.l2Hits, c.l2Misses, c.l2Errors, c.l2Timeouts, c.l2Rejected} {
		ch <- d
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	box := c.src.Load()
	if box == nil {
		return
	}
	s := box.s.Stats()
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	if s.HasL1 {
		gauge(c.l1Entries, float64(s.L1.Entries))
		gauge(c.l1Bytes, float64(s.L1.Bytes))
		counter(c.l1Hits, float64(s.L1.Hits))
		counter(c.l1Misses, float64(s.L1.Misses))
		counter(c.l1Expired, float64(s.L1.Expired))
		counter(c.l1Evictions, float64(s.L1.Evictions))
	}
	if s.HasL2 {
		for _, st := range breakerStates {
			v := 0.0
			if s.L2.Breaker == st {
				v = 1
			}
			gauge(c.l2Breaker, v, st.String())
		}
		counter(c.l2Opens, float64(s.L2.BreakerOpens))
		counter(c.l2Hits, float64(s.L2.Hits))
		counter(c.l2Misses, float64(s.L2.Misses))
		counter(c.l2Errors, float64(s.L2.Errors))
		counter(c.l2Timeouts, float64(s.L2.Timeouts))
		counter(c.l2Rejected, float64(s.L2.Rejected))
	}
}
