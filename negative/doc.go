// Package negative decides which error answers a shared cache keeps, and for how long.
//
// # Why
//
// A crawler, or a bug, that hammers ids which do not exist sends every request to the
// database. Keeping "404 Not Found" for a few seconds stops that without hiding a newly
// created resource for long.
//
// # Rules
//
// By default 404 and 410 are kept for 10 seconds. Any status RFC 9110 §15.1 calls heuristically
// cacheable may be added (204, 300, 301, 308, 405, 414, 501). A 5xx is never kept by these rules (only
// with its own explicit freshness). An explicit
// Cache-Control from the handler wins over these rules: max-age or s-maxage sets the lifetime,
// and no-store, private and no-cache keep the answer out of the cache.
//
// # Scope
//
// The rules apply to routes that declare a cache policy (core's PolicyMiddleware or an
// adapter's Policy), except private and no-store ones, which never keep an error. Answers of
// routes without a policy are kept only with explicit freshness, unless Rules.AllRoutes is
// set: such an error may depend on a request field the key does not hold, and would then be
// served to everyone.
package negative
