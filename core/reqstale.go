package core

import (
	"math"
	"time"

	"github.com/strata-cache/strata/headers"
)

// requestFreshness records a request's min-fresh and max-stale (RFC 9111 §5.2.1.3,
// §5.2.1.2), which the cache honours only with Config.HonorRequestNoCache: like no-cache,
// they let a client change what it is served.
func (x *exchange) requestFreshness(cc headers.Directives) {
	if cc.MinFresh.Valid {
		x.minFresh = cc.MinFresh.Duration()
	}
	switch {
	case cc.MaxStale.Valid: // the bounded form wins over a bare max-stale (the parser's rule)
		x.maxStale, x.hasMaxStale = cc.MaxStale.Duration(), true
	case cc.MaxStaleAny:
		x.maxStale, x.hasMaxStale = time.Duration(math.MaxInt64), true
	}
}

// staleOK reports whether x's max-stale accepts e, stale by stale: the client allows that
// much, and e does not forbid serving it stale (see entry.maxStaleOK).
func (x *exchange) staleOK(e *entry, stale time.Duration) bool {
	return x.hasMaxStale && stale <= x.maxStale && e.maxStaleOK()
}
