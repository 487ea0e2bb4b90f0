package core

import (
	"net/http"
	"time"

	"github.com/strata-cache/strata/headers"
	"github.com/strata-cache/strata/negative"
)

// Reason says why a response was not stored. The empty reason means it was stored.
// Reasons appear in Cache-Status detail and as metrics labels.
type Reason string

const (
	ReasonNone          Reason = ""
	ReasonNoStore       Reason = "no-store"      // RFC 9111 §3, §5.2.2.5 (response) / §5.2.1.5 (request)
	ReasonPrivate       Reason = "private"       // RFC 9111 §3, §5.2.2.7: a shared cache must not store it
	ReasonNoCache       Reason = "no-cache"      // RFC 9111 §5.2.2.4: no validator to revalidate it with on every use (or Config.Keep off)
	ReasonAuthorization Reason = "authorization" // RFC 9111 §3.5
	ReasonSetCookie     Reason = "set-cookie"    // safe default: a cookie is per user
	ReasonVaryStar      Reason = "vary-star"     // RFC 9111 §4.1: Vary: * never matches
	ReasonStatus        Reason = "status"        // RFC 9111 §3: status not final, not understood, or 5xx without explicit freshness
	ReasonNoFreshness   Reason = "no-freshness"  // safe default: no explicit freshness (§4.2.1) and no negative rule
	ReasonTooLarge      Reason = "too-large"     // body over Config.MaxBodyBytes, or entry over Config.MaxEntryBytes
	ReasonStreamed      Reason = "streamed"      // the handler flushed or hijacked
	ReasonIncomplete    Reason = "incomplete"    // handler panicked, the client went away, or a body shorter than its Content-Length (§3.1)
	ReasonVariants      Reason = "too-many-variants"
	ReasonMethod        Reason = "method"
	ReasonCollision     Reason = "key-collision"  // the store key holds another request's entry: it is left alone
	ReasonTrailers      Reason = "trailers"       // the answer has trailer fields: streamed so they reach the client
	ReasonUpgrade       Reason = "upgrade"        // a protocol upgrade: passed through, never looked up or stored (bypass.go)
	ReasonConnect       Reason = "connect"        // CONNECT: passed through, never looked up or stored (bypass.go)
	ReasonInvalidated   Reason = "invalidated"    // a purge of the key came while the handler ran: served, not stored (fence.go)
	ReasonOnlyIfCached  Reason = "only-if-cached" // RFC 9111 §5.2.1.7: nothing stored for a request that takes only a stored answer (504)
	ReasonSkip          Reason = "skip"           // Config.Skip or an adapter's skip: passed through, never looked up or stored (hooks.go)
	ReasonKeyHook       Reason = "key-hook"       // Config.KeySegments panicked: passed through, never looked up or stored (hooks.go)
)

// freshness is the outcome of the storability and freshness rules for one response.
type freshness struct {
	reason   Reason
	fresh    time.Duration // freshness_lifetime (RFC 9111 §4.2.1)
	initAge  time.Duration // corrected_initial_age (§4.2.3)
	swr, sie time.Duration // RFC 5861 windows (zero when stale serving is forbidden)
	sieSet   bool          // the response sets stale-if-error itself (Config.StaleIfError yields to it)
	noStale  bool          // must-revalidate / proxy-revalidate (§5.2.2.2, §5.2.2.8)
	sMaxAge  bool          // s-maxage, which implies proxy-revalidate for a client's max-stale (§5.2.2.10)
	noCache  bool          // unqualified no-cache: stale at once, revalidated on every use (§5.2.2.4)
	negative bool
	strip    []string // fields named by qualified private= / no-cache= (§5.2.2.7, §5.2.2.4)
}

// decide applies RFC 9111 §3 (storing responses) and §4.2.1 (freshness lifetime) as a shared
// cache. It is a pure function of the request, the response status and header, the negative
// rules and the current time.
//
//   - reqAuth: the request carried Authorization (§3.5);
//   - negOK: the negative rules may apply (the route has a policy, or Rules.AllRoutes);
//   - routeNeg: the route's negative TTL override (0 = none);
//   - delay: response_delay, the time the handler took (§4.2.3);
//   - heur: the heuristic freshness the cache is configured for (zero: none).
func decide(status int, h http.Header, reqAuth bool, rules negative.Rules, negOK bool, routeNeg, delay time.Duration, now time.Time, heur heuristic) freshness {
	var f freshness
	// §3: the status must be final and understood; 206 needs range support the cache does not
	// have, and 304 is not a representation.
	if status < 200 || status == http.StatusPartialContent || status == http.StatusNotModified || status > 599 {
		f.reason = ReasonStatus
		return f
	}
	cc := headers.ParseCacheControl(h["Cache-Control"])
	// §3 lets any final status be stored with explicit freshness (§4.2.1); a server error is
	// stored only so, never by the negative rules or the heuristic: the origin said how long.
	if status >= 500 && !cc.SMaxAge.Valid && !cc.MaxAge.Valid && len(h["Expires"]) == 0 {
		f.reason = ReasonStatus
		return f
	}
	// §5.2.2.3: must-understand stores a response only in a cache that implements its status
	// code's caching rules, and such a cache ignores no-store.
	if cc.MustUnderstand {
		if !heuristicallyCacheable(status) {
			f.reason = ReasonStatus
			return f
		}
		cc.NoStore = false
	}
	// §5.2.2.5: no-store.
	if cc.NoStore {
		f.reason = ReasonNoStore
		return f
	}
	// §5.2.2.7: unqualified private keeps a response out of a shared cache; the qualified form
	// only forbids storing the named fields, which are stripped.
	if cc.Private {
		if len(cc.PrivateFields) == 0 {
			f.reason = ReasonPrivate
			return f
		}
		f.strip = append(f.strip, cc.PrivateFields...)
	}
	// §5.2.2.4: no-cache without fields may be stored, but every reuse needs a successful
	// revalidation: the entry is stale at once and never served stale (build keeps it only
	// with a validator). The qualified form forbids reusing the named fields without
	// revalidation: they are stripped.
	if cc.NoCache {
		if len(cc.NoCacheFields) == 0 {
			f.noCache = true
		} else {
			f.strip = append(f.strip, cc.NoCacheFields...)
		}
	}
	// §3.5: a response to a request with Authorization is stored by a shared cache only when
	// the response explicitly allows it: public, s-maxage or must-revalidate.
	if reqAuth && !cc.Public && !cc.SMaxAge.Valid && !cc.MustRevalidate {
		f.reason = ReasonAuthorization
		return f
	}
	// Safe default: Set-Cookie is per user; store only when private= / no-cache= names it.
	if len(h["Set-Cookie"]) > 0 && !containsFold(f.strip, "Set-Cookie") {
		f.reason = ReasonSetCookie
		return f
	}
	// §4.1: "Vary: *" always fails to match.
	if _, star := varyFields(h); star {
		f.reason = ReasonVaryStar
		return f
	}

	// §4.2.1: freshness lifetime for a shared cache: s-maxage, then max-age, then Expires
	// minus Date. Without them, the negative rules, then heuristic freshness when configured.
	explicit := true
	switch {
	case f.noCache:
		// freshness_lifetime 0, whatever the response says
	case cc.SMaxAge.Valid:
		f.fresh, f.sMaxAge = cc.SMaxAge.Duration(), true
	case cc.MaxAge.Valid:
		f.fresh = cc.MaxAge.Duration()
	case len(h["Expires"]) > 0:
		// §5.3: an invalid Expires (e.g. "0", or not an HTTP-date) means already expired.
		exp, ok := parseHTTPDate(h.Get("Expires"))
		if !ok || len(h["Expires"]) > 1 {
			f.reason = ReasonNoFreshness
			return f
		}
		date := now
		if d, ok := parseHTTPDate(h.Get("Date")); ok {
			date = d
		}
		f.fresh = exp.Sub(date)
	default:
		explicit = false
	}
	if !explicit {
		if ttl, ok := rules.Lifetime(status, cc, false, routeNeg); ok && negOK {
			f.fresh, f.negative = ttl, true
		} else if d, ok := heur.lifetime(status, h, now); ok {
			f.fresh = d
		} else {
			f.reason = ReasonNoFreshness
			return f
		}
	}

	// §4.2.3: corrected_initial_age = max(apparent_age, age_value + response_delay), where
	// response_delay is the time the handler took (the fill's request to its response), in
	// whole seconds as every age is: a handler's milliseconds do not age a fresh answer.
	delay = delay.Truncate(time.Second)
	var apparent, ageValue time.Duration
	if d, ok := parseHTTPDate(h.Get("Date")); ok && now.After(d) {
		apparent = now.Sub(d)
	}
	if a, ok := parseAge(h["Age"]); ok {
		ageValue = a + max(delay, 0)
	} else {
		ageValue = max(delay, 0)
	}
	f.initAge = max(apparent, ageValue)

	// §5.2.2.2 must-revalidate, §5.2.2.8 proxy-revalidate: never serve stale. An explicit
	// stale-while-revalidate / stale-if-error (RFC 5861) permits stale serving otherwise; the
	// proxy-revalidate that s-maxage implies (§5.2.2.10) yields to that explicit permission.
	f.noStale = cc.MustRevalidate || cc.ProxyRevalidate || f.noCache
	if !f.noStale {
		f.swr = cc.StaleWhileRevalidate.Duration()
		f.sie = cc.StaleIfError.Duration()
	}
	f.sieSet = cc.StaleIfError.Valid
	if f.fresh-f.initAge <= 0 && f.swr <= 0 && f.sie <= 0 && !f.noCache {
		f.reason = ReasonNoFreshness
	}
	return f
}

// heuristicallyCacheable lists the statuses RFC 9110 §15.1 calls heuristically cacheable that
// this cache stores (not 206: no range support; not 501: a 5xx needs explicit freshness). They are the
// statuses whose caching rules it implements, so also those it "understands" (§5.2.2.3).
func heuristicallyCacheable(status int) bool {
	switch status {
	case http.StatusOK, http.StatusNonAuthoritativeInfo, http.StatusNoContent, http.StatusMultipleChoices,
		http.StatusMovedPermanently, http.StatusPermanentRedirect, http.StatusNotFound,
		http.StatusMethodNotAllowed, http.StatusGone, http.StatusRequestURITooLong:
		return true
	}
	return false
}

// heuristic is the opt-in heuristic freshness of Config.HeuristicFreshness and HeuristicMax.
type heuristic struct {
	fraction float64       // of the time since Last-Modified; 0: off
	max      time.Duration // cap (0: none)
}

// lifetime is a heuristic freshness lifetime (§4.2.2), for a response without explicit
// freshness that nothing keeps out of the cache (decide checks both first): a fraction of the
// time between its Last-Modified and its Date (or now), capped, for a status that is
// heuristically cacheable (RFC 9110 §15.1). No Warning is added: RFC 9111 made it obsolete.
func (hc heuristic) lifetime(status int, h http.Header, now time.Time) (time.Duration, bool) {
	if hc.fraction <= 0 || !heuristicallyCacheable(status) {
		return 0, false
	}
	lm, ok := parseHTTPDate(h.Get("Last-Modified"))
	if !ok {
		return 0, false
	}
	date := now
	if d, ok := parseHTTPDate(h.Get("Date")); ok {
		date = d
	}
	if !date.After(lm) {
		return 0, false
	}
	d := time.Duration(float64(date.Sub(lm)) * hc.fraction).Truncate(time.Second)
	if hc.max > 0 && d > hc.max {
		d = hc.max
	}
	return d, d > 0
}
