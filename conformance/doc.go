// Package conformance is the scenario suite that every Strata adapter passes: one list of
// named scenarios, written once against net/http, that each framework mounts in its own
// router and runs.
//
// # Running it
//
// An adapter's test mounts the scenario's routes behind the cache, in the framework's own
// idiom, and hands the router back:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, func(t *testing.T, cache *core.Cache, routes []conformance.Route) http.Handler {
//			r := chi.NewRouter()
//			r.Use(middleware.Recoverer, chicache.Middleware(cache))
//			for _, rt := range routes {
//				h := chi.Router(r)
//				if !rt.Policy.IsZero() {
//					h = r.With(chicache.Policy(rt.Policy))
//				}
//				for _, m := range rt.Methods() {
//					h.Method(m, rt.Path, rt.Handler)
//				}
//			}
//			return r
//		}, conformance.Options{DetachedRefresh: true})
//	}
//
// Run runs the scenarios in four rows:
//
//   - l1: every scenario against an L1-only cache, requests served in process;
//   - redis: the same against a cache with a real Redis L2 (a redis-server started once per
//     row by internal/redistest; every scenario uses a namespace of its own, and every other
//     scenario also turns the L1 off, so entries come from Redis alone);
//   - http2: every scenario over a real TLS HTTP/2 connection (httptest's server with
//     EnableHTTP2 and StartTLS), so the cache meets net/http's HTTP/2 writer and a TLS
//     request; a flush is observed on the server's side;
//   - no-flush: behind an outer middleware whose writer cannot flush (no Flush, FlushError
//     or Unwrap), the background-refresh scenarios on L1 and Redis, and on L1 every other
//     scenario that needs neither a flush nor a refresh within the request.
//
// Where redis-server is missing the Redis rows skip, unless STRATA_REQUIRE_REDIS=1.
//
// [Options] says what the adapter does where the expected behaviour depends on it: with
// DetachedRefresh (the adapter sets core.HandlerOptions.Detach), a stale answer that cannot
// be flushed is refreshed in the background, and the scenario waits for it with
// Cache.WaitRefreshes; without it, the refresh is left to the next request, which
// revalidates in the foreground. Either way the stale answer must reach the client before
// the refresh has run: the refresh is held until the client has it.
//
// # What a mount must do
//
//   - put the cache middleware at the router, so it sees every route, and each route's
//     Policy (when not zero) on that route;
//   - answer HEAD on GET routes ([Route.Methods] lists both): a HEAD miss is filled by
//     running the GET route;
//   - recover a handler's panic and answer 500, as the framework's own recovery middleware
//     does: the cache re-panics after cleaning up, and a panic that reaches the suite fails
//     the step.
//
// # Scenarios
//
// A [Scenario] names its origin routes, optional Config tweaks and a script of [Step]s:
// requests (sent straight to the mounted handler, one at a time or several at once), clock
// advances (every cache runs on an injected clock, so freshness needs no sleeps), actions
// such as purges, and what each response must look like — status, header and body
// [Check]s — and how many times each route's handler has run so far. Handlers are counted
// by the suite, so a hit is told from a miss by the count, not only by Cache-Status.
//
// [Scenarios] returns the list; it builds fresh handlers on every call, so a run never
// sees another run's state.
//
// # On the wire
//
// Scenarios send requests straight to the mounted handler, which cannot show what exists
// only on a connection. [RunWire] takes the same Mount and serves it on real servers: two
// concurrent WebSocket-style upgrades of one URL (the handler hijacks the connection) both
// switch protocols at once, an upgrade still switches after a plain GET of the URL was
// stored, and trailers reach the client. With Redis it runs two instances on one L2.
//
// # The outer-logger row
//
// [RunOuterLogger] checks what middleware in front of the cache sees: the adapter mounts a
// request logger first, then the cache, then routes that fail in the framework's own idiom
// (echo returns the error, gin attaches it with c.Error, net/http answers the status), once
// without the cache and once with it ([LogMount]). The logged status and error, and what
// the client got, must be the same both ways; a hit runs no handler, so it logs no error.
package conformance
