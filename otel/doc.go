// Package strataotel records what a Strata cache does with OpenTelemetry: an event (or a
// child span) on each request's span, and the metrics package's set of metrics as OTel
// instruments.
//
// The module lives in the otel/ directory (import path github.com/strata-cache/strata/otel);
// the package is named strataotel so that it does not shadow go.opentelemetry.io/otel, which
// the code that wires it usually imports too:
//
//	obs, err := strataotel.New(strataotel.Options{}) // the global providers
//	if err != nil { … }
//	cache, err := core.New(core.Config{Observer: obs})
//	if err != nil { … }
//	obs.Attach(cache) // L1 and Redis figures, read when the meter collects
//	http.Handle("/", otelhttp.NewHandler(cache.Middleware(mux), "server"))
//
// # Traces
//
// The observer reads the request's span from core.Event.Context (trace.SpanFromContext), so
// the span is the one an outer instrumentation started (otelhttp, a framework's middleware).
// By default (ModeEvents) it adds one event named "strata.cache" to that span; with
// ModeSpans it starts a child span named "strata.cache" instead, from the moment the request
// entered the cache (backdated with trace.WithTimestamp by the event's Duration) to the
// moment it was answered, the handler included. ModeOff records metrics only. A request
// whose context has no recording span (none, or not sampled) costs nothing for traces; a
// background refresh, whose request span has ended, is not traced.
//
// The event or span carries:
//
//	strata.cache.result     hit, stale, miss, bypass, revalidated, negative_hit, not_modified, collapsed
//	strata.cache.stored     whether the response was stored
//	strata.cache.tier       l1 or l2, for a stored answer
//	strata.cache.reason     why it was not stored, or bypassed (private, authorization, …)
//	strata.cache.key        the request's key hash, hex, as in Cache-Status with Debug
//	strata.cache.route      the route pattern, as the adapter reports it
//	strata.cache.status     the status sent to the client
//	strata.cache.origin_ms  time in the handler, in milliseconds, when it ran
//
// The empty ones (no tier, no reason, …) are left out.
//
// # Metrics
//
// Names follow OpenTelemetry's conventions (dotted, units apart); a Prometheus exporter
// renders strata.cache.requests as strata_cache_requests_total:
//
//	strata.cache.requests{route,result,tier}       requests by how the cache answered
//	strata.cache.request.duration{route,result,tier}  seconds in the cache middleware, handler included
//	strata.cache.origin.duration{route}            seconds in the handler, when it ran
//	strata.cache.stores{route,stored,reason}       store attempts: stored, or not with the reason
//	strata.cache.errors{tier,op}                   L1/L2 errors seen by the cache (get, set, …)
//	strata.cache.purges{purge.kind}                purges by kind: url, tag, all
//	strata.cache.purge.entries{purge.kind}         entries those purges removed
//	strata.cache.coalesced.waiters{outcome}        requests that waited for another's fill:
//	                                               served (from it) or fallthrough
//	strata.cache.coalesced.wait.duration{outcome}  seconds they waited
//
// The attribute keys are the strata.cache.* ones above (AttrRoute, AttrResult, …). Requests
// without a route are recorded with route "unknown"; past Options.MaxRoutes distinct routes,
// new ones with "other". The histograms advise DefaultBuckets (50µs to 10s) as their
// boundaries; a view of the MeterProvider can change them.
//
// Observed when the meter collects, from the cache given to Attach (core.Cache.Stats):
//
//	strata.cache.l1.entries, strata.cache.l1.size (bytes)          L1 size (up-down counters)
//	strata.cache.l1.hits, .misses, .expired, .evictions
//	strata.cache.l2.breaker.state{breaker.state}                   1 for the current state:
//	                                                               closed, open, half-open
//	strata.cache.l2.breaker.opens
//	strata.cache.l2.hits, .misses, .errors, .timeouts, .rejected
//
// The L2 ones only when the cache has a Redis tier. Close unregisters that callback.
//
// # Cost
//
// The Observer methods run on the request path. The attribute sets of each route, result
// and tier are built once and kept, so a request without a recording span costs a map lookup,
// a counter increment and a histogram record, with no allocation (see BenchmarkRequest); a
// span event adds a few small allocations, most of them the SDK's (BenchmarkTraced).
package strataotel
