package strataotel

import (
	"context"
	"errors"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/store"
)

// StatsSource is what Attach reads: *core.Cache implements it.
type StatsSource interface {
	Stats() core.Stats
}

// Attach makes the tiers' figures (L1 entries and bytes, Redis breaker state and errors)
// observable, read from s (a *core.Cache) when the MeterProvider collects. The cache is built
// after its Observer, hence this second step. Attach(nil) detaches.
func (o *Observer) Attach(s StatsSource) {
	if s == nil {
		o.tiers.src.Store(nil)
		return
	}
	o.tiers.src.Store(&sourceBox{s})
}

// Close unregisters the callback that reads the attached cache's figures. The other
// instruments live as long as the MeterProvider.
func (o *Observer) Close() error {
	if o.tiers.reg == nil {
		return nil
	}
	return o.tiers.reg.Unregister()
}

type sourceBox struct{ s StatsSource }

// stats reads the tiers' figures from the cache at collection time (core.Cache.Stats), so
// nothing on the request path pays for them.
type stats struct {
	src atomic.Pointer[sourceBox]
	reg metric.Registration

	l1Entries, l1Bytes                                 metric.Int64ObservableUpDownCounter
	l1Hits, l1Misses, l1Expired, l1Evictions           metric.Int64ObservableCounter
	l2Breaker                                          metric.Int64ObservableGauge
	l2Opens                                            metric.Int64ObservableCounter
	l2Hits, l2Misses, l2Errors, l2Timeouts, l2Rejected metric.Int64ObservableCounter
}

// breakerStates are the values of the state attribute of strata.cache.l2.breaker.state.
var breakerStates = [...]store.BreakerState{store.BreakerClosed, store.BreakerOpen, store.BreakerHalfOpen}

var breakerAttrs = func() (a [len(breakerStates)][]metric.ObserveOption) {
	for i, st := range breakerStates {
		a[i] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(AttrState.String(st.String())))}
	}
	return a
}()

func (s *stats) init(m metric.Meter) error {
	var errs []error
	updown := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		c, err := m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	s.l1Entries = updown("strata.cache.l1.entries", "{entry}", "Entries held by the in-process L1, expired ones not yet removed included.")
	s.l1Bytes = updown("strata.cache.l1.size", "By", "Bytes the L1 has allocated for entries (grows up to its limit).")
	s.l1Hits = counter("strata.cache.l1.hits", "{read}", "L1 reads that found a live entry.")
	s.l1Misses = counter("strata.cache.l1.misses", "{read}", "L1 reads that found nothing (expired entries and hash collisions included).")
	s.l1Expired = counter("strata.cache.l1.expired", "{read}", "L1 reads that found an entry past its expiry.")
	s.l1Evictions = counter("strata.cache.l1.evictions", "{entry}", "Live L1 entries dropped for room.")
	g, err := m.Int64ObservableGauge("strata.cache.l2.breaker.state", metric.WithUnit("1"),
		metric.WithDescription("Redis circuit breaker: 1 for the current state (closed, open, half-open), 0 for the others."))
	errs = append(errs, err)
	s.l2Breaker = g
	s.l2Opens = counter("strata.cache.l2.breaker.opens", "{open}", "Times the Redis circuit breaker opened.")
	s.l2Hits = counter("strata.cache.l2.hits", "{read}", "Redis reads that found a usable value (one this version of the cache can decode).")
	s.l2Misses = counter("strata.cache.l2.misses", "{read}", "Redis reads that found nothing, or a value the cache cannot use.")
	s.l2Errors = counter("strata.cache.l2.errors", "{call}", "Failed Redis calls, timeouts included.")
	s.l2Timeouts = counter("strata.cache.l2.timeouts", "{call}", "Redis calls that ran out of their timeout.")
	s.l2Rejected = counter("strata.cache.l2.rejected", "{call}", "Redis calls refused by the open circuit breaker.")
	if err := errors.Join(errs...); err != nil {
		return err
	}
	reg, err := m.RegisterCallback(s.observe, s.l1Entries, s.l1Bytes, s.l1Hits, s.l1Misses, s.l1Expired, s.l1Evictions,
		s.l2Breaker, s.l2Opens, s.l2Hits, s.l2Misses, s.l2Errors, s.l2Timeouts, s.l2Rejected)
	s.reg = reg
	return err
}

// observe is the callback: the attached cache's figures, nothing when none is attached. The
// L2 ones only when the cache has an L2.
func (s *stats) observe(_ context.Context, o metric.Observer) error {
	box := s.src.Load()
	if box == nil {
		return nil
	}
	st := box.s.Stats()
	if st.HasL1 {
		o.ObserveInt64(s.l1Entries, int64(st.L1.Entries))
		o.ObserveInt64(s.l1Bytes, st.L1.Bytes)
		o.ObserveInt64(s.l1Hits, st.L1.Hits)
		o.ObserveInt64(s.l1Misses, st.L1.Misses)
		o.ObserveInt64(s.l1Expired, st.L1.Expired)
		o.ObserveInt64(s.l1Evictions, st.L1.Evictions)
	}
	if st.HasL2 {
		for i, state := range breakerStates {
			var v int64
			if st.L2.Breaker == state {
				v = 1
			}
			o.ObserveInt64(s.l2Breaker, v, breakerAttrs[i]...)
		}
		o.ObserveInt64(s.l2Opens, int64(st.L2.BreakerOpens))
		o.ObserveInt64(s.l2Hits, int64(st.L2.Hits))
		o.ObserveInt64(s.l2Misses, int64(st.L2.Misses))
		o.ObserveInt64(s.l2Errors, int64(st.L2.Errors))
		o.ObserveInt64(s.l2Timeouts, int64(st.L2.Timeouts))
		o.ObserveInt64(s.l2Rejected, int64(st.L2.Rejected))
	}
	return nil
}
