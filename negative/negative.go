package negative

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/strata-cache/strata/headers"
)

// Rules says which error answers a cache keeps without explicit freshness, and for how long.
// The zero value caches 404 and 410 for 10 seconds.
type Rules struct {
	// Statuses are the status codes cached negatively. Only codes that RFC 9111 §4.2.2 lets
	// a cache store heuristically (RFC 9110 §15.1) are accepted: 204, 300, 301, 308, 404,
	// 405, 410, 414 and 501. Default [404, 410].
	Statuses []int
	// TTL is how long a negative answer is kept. Default 10s; negative disables negative caching.
	TTL time.Duration
	// MaxTTL caps TTL and any per-route override. Default 5m.
	MaxTTL time.Duration
	// AllRoutes applies the rules to answers of routes without a cache policy too. By
	// default only routes that declare a policy have their error answers cached without
	// explicit freshness: elsewhere an error may come from a request field the key does not
	// hold (a header, a cookie), and would be served to everyone. Routes whose policy is
	// private or no-store never negatively cache. Default false.
	AllRoutes bool
}

// heuristic lists the status codes that are heuristically cacheable by default
// (RFC 9110 §15.1) and not 2xx success (which is not a "negative" answer).
var heuristic = []int{204, 300, 301, 308, 404, 405, 410, 414, 501}

// ErrStatus is returned by Validate for a status a cache may not store heuristically.
var ErrStatus = errors.New("negative: status is not heuristically cacheable (RFC 9110 §15.1)")

// Validate returns r with defaults filled in, or an error naming the first bad field.
func (r Rules) Validate() (Rules, error) {
	if r.Statuses == nil {
		r.Statuses = []int{404, 410}
	} else {
		r.Statuses = slices.Clone(r.Statuses)
	}
	for _, s := range r.Statuses {
		if !slices.Contains(heuristic, s) {
			return r, fmt.Errorf("%w: %d", ErrStatus, s)
		}
	}
	if r.TTL == 0 {
		r.TTL = 10 * time.Second
	}
	if r.MaxTTL == 0 {
		r.MaxTTL = 5 * time.Minute
	}
	if r.MaxTTL < 0 {
		return r, errors.New("negative: MaxTTL must not be negative")
	}
	return r, nil
}

// Lifetime returns how long a response may be kept under a negative rule. routeTTL is a
// per-route override (0 = none). It answers ok=false when the rules do not apply:
//   - a 5xx is never stored by these rules (the cache stores one only with explicit freshness);
//   - no-store always wins (RFC 9111 §5.2.2.5), and so do private and no-cache;
//   - a response with explicit freshness (max-age, s-maxage, Expires: explicit=true) is
//     governed by that, not by these rules — the handler's word wins.
func (r Rules) Lifetime(status int, cc headers.Directives, explicit bool, routeTTL time.Duration) (time.Duration, bool) {
	if status >= 500 || cc.NoStore || cc.Private || cc.NoCache || explicit {
		return 0, false
	}
	if r.TTL < 0 || !slices.Contains(r.Statuses, status) {
		return 0, false
	}
	ttl := r.TTL
	if routeTTL > 0 {
		ttl = routeTTL
	}
	if r.MaxTTL > 0 && ttl > r.MaxTTL {
		ttl = r.MaxTTL
	}
	return ttl, true
}
