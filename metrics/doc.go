// Package metrics exports what a Strata cache does to Prometheus.
//
// New returns a core.Observer that counts and times every request the cache answers, every
// store attempt, store error, purge and coalesced waiter; Attach adds the tiers' own figures
// (L1 size and evictions, Redis errors and breaker state), read from the cache at scrape time:
//
//	reg := prometheus.NewRegistry()
//	m := metrics.New(reg, metrics.Options{})
//	cache, err := core.New(core.Config{Observer: m})
//	if err != nil { … }
//	m.Attach(cache)
//	http.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// # Labels
//
// Requests are labelled by route pattern ("/products/{id}"), as the framework adapter reports
// it (chi's RoutePattern, gin's FullPath, echo's Path), never by the raw URL, so the number of
// series stays bounded. A request without a route (plain core.Middleware) is labelled
// "unknown"; past Options.MaxRoutes distinct routes, new ones are labelled "other".
//
// # Metrics
//
// With the default namespace "strata":
//
//	strata_requests_total{route,result}             requests by how the cache answered: hit, stale,
//	                                                miss, bypass, revalidated, negative_hit,
//	                                                not_modified, collapsed
//	strata_request_duration_seconds{route,result}   time in the cache middleware, handler included
//	strata_origin_duration_seconds{route}           time in the handler, when it ran
//	strata_tier_hits_total{tier}                    stored answers read from l1 or l2
//	strata_stores_total{route}                      responses stored
//	strata_store_rejections_total{route,reason}     responses not stored, by reason (private, …)
//	strata_store_errors_total{tier,op}              L1/L2 errors seen by the cache (get, set, …)
//	strata_purges_total{kind}                       purges by kind: url, tag, all
//	strata_purged_entries_total{kind}               entries those purges removed
//	strata_coalesced_waiters_total{outcome}         requests that waited for another's fill:
//	                                                served (from it) or fallthrough (ran the handler)
//	strata_coalesced_wait_seconds                   how long they waited
//
// Read from the cache at scrape time (after Attach):
//
//	strata_l1_entries, strata_l1_bytes              L1 size
//	strata_l1_hits_total, strata_l1_misses_total,
//	strata_l1_expired_total, strata_l1_evictions_total
//	strata_l2_breaker_state{state}                  1 for the current state: closed, open, half-open
//	strata_l2_breaker_opens_total
//	strata_l2_hits_total, strata_l2_misses_total
//	strata_l2_errors_total, strata_l2_timeouts_total, strata_l2_rejected_total
//
// The L2 series appear only when the cache has a Redis tier.
//
// # Cost
//
// The Observer methods run on the request path. The per-route label children are resolved
// once and kept, so a request costs a map lookup, a counter increment and a histogram
// observation, with no allocation (see BenchmarkRequest).
package metrics
