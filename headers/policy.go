package headers

import (
	"net/http"
	"strconv"
	"time"
)

// maxDelta is the largest delta-seconds value Strata emits or reports:
// 2^31, which RFC 9111 §1.2.2 says stands for "infinity" (over 68 years).
const maxDelta = 1 << 31

// Bits of Policy.flags: boolean directives, and which delta fields are set.
const (
	fPublic uint16 = 1 << iota
	fPrivate
	fNoCache
	fNoStore
	fMaxAge
	fSMaxAge
	fSWR
	fSIE
	fMustRevalidate
	fProxyRevalidate
	fNoTransform
	fImmutable
	fCDNMaxAge
)

// Policy is an immutable caching policy for a route: what Strata renders into
// Cache-Control, CDN-Cache-Control and Vary, plus the cache-only settings
// (surrogate tags, negative-caching TTL, ignored query parameters).
//
// Every method returns a modified copy; the receiver is never changed, and
// two Policies derived from one base share no mutable state. The zero Policy
// means "no policy": it renders nothing and [Policy.Apply] leaves headers
// alone.
//
// A Policy is meant to be built once, at route setup, and read on every
// request: the header values are rendered when the Policy is built, so
// [Policy.CacheControl] and [Policy.CDNCacheControl] do not allocate.
type Policy struct {
	cc  string // rendered Cache-Control
	cdn string // rendered CDN-Cache-Control

	flags uint16
	// Seconds, already rounded down and clamped to [0, 2^31].
	maxAge, sMaxAge, swr, sie, cdnMaxAge int64

	vary        []string // canonical, deduplicated
	tags        []string // deduplicated, no empty tags
	tagFunc     func(*http.Request) []string
	negTTL      time.Duration
	ignoreQuery []string // deduplicated
}

// Public returns a policy rendered as "public, max-age=N", where N is maxAge
// in whole seconds: any cache, shared or private, may store the response
// (RFC 9111 §5.2.2.9) and it is fresh for N seconds (§5.2.2.1).
func Public(maxAge time.Duration) Policy {
	var p Policy
	p.flags = fPublic | fMaxAge
	p.maxAge = seconds(maxAge)
	return p.render()
}

// Private returns a policy rendered as "private": the response is for a
// single user and is never stored by a shared cache (RFC 9111 §5.2.2.7), so
// Strata keeps it out of L1, L2 and the CDN. Browsers may still store it.
func Private() Policy {
	return Policy{flags: fPrivate}.render()
}

// NoStore returns a policy rendered as "no-store": no cache may store any part
// of the response (RFC 9111 §5.2.2.5).
//
// A no-store policy renders Cache-Control as exactly "no-store" whatever else
// is added to it, since no-store makes every freshness directive moot.
func NoStore() Policy {
	return Policy{flags: fNoStore}.render()
}

// NoCache returns a policy rendered as "no-cache": caches may store the
// response but must revalidate it with the origin before every reuse
// (RFC 9111 §5.2.2.4).
func NoCache() Policy {
	return Policy{flags: fNoCache}.render()
}

// Immutable returns a policy rendered as "public, max-age=N, immutable", for
// versioned assets whose URL changes when their content does (RFC 8246).
func Immutable(maxAge time.Duration) Policy {
	return Public(maxAge).Immutable()
}

// MaxAge sets max-age, the freshness lifetime for every cache
// (RFC 9111 §5.2.2.1). d is rounded down to whole seconds; a negative d is 0.
func (p Policy) MaxAge(d time.Duration) Policy {
	p.flags |= fMaxAge
	p.maxAge = seconds(d)
	return p.render()
}

// SMaxAge sets s-maxage, the freshness lifetime for shared caches (Strata's
// L1/L2 and CDNs), which overrides max-age there (RFC 9111 §5.2.2.10).
// d is rounded down to whole seconds; a negative d is 0.
func (p Policy) SMaxAge(d time.Duration) Policy {
	p.flags |= fSMaxAge
	p.sMaxAge = seconds(d)
	return p.render()
}

// StaleWhileRevalidate sets stale-while-revalidate: for d after the response
// becomes stale a cache may serve it while revalidating in the background
// (RFC 5861 §3). d is rounded down to whole seconds; a negative d is 0.
func (p Policy) StaleWhileRevalidate(d time.Duration) Policy {
	p.flags |= fSWR
	p.swr = seconds(d)
	return p.render()
}

// StaleIfError sets stale-if-error: for d after the response becomes stale a
// cache may serve it when the origin fails (RFC 5861 §4). d is rounded down to
// whole seconds; a negative d is 0.
func (p Policy) StaleIfError(d time.Duration) Policy {
	p.flags |= fSIE
	p.sie = seconds(d)
	return p.render()
}

// MustRevalidate adds must-revalidate: once stale, the response must not be
// reused without successful revalidation (RFC 9111 §5.2.2.2).
func (p Policy) MustRevalidate() Policy {
	p.flags |= fMustRevalidate
	return p.render()
}

// ProxyRevalidate adds proxy-revalidate: must-revalidate for shared caches
// only (RFC 9111 §5.2.2.8).
func (p Policy) ProxyRevalidate() Policy {
	p.flags |= fProxyRevalidate
	return p.render()
}

// NoTransform adds no-transform: intermediaries must not transform the
// content (RFC 9111 §5.2.2.6).
func (p Policy) NoTransform() Policy {
	p.flags |= fNoTransform
	return p.render()
}

// Immutable adds immutable: the response will not change while fresh, so
// clients need not revalidate it on reload (RFC 8246).
func (p Policy) Immutable() Policy {
	p.flags |= fImmutable
	return p.render()
}

// NoCache adds no-cache to the policy, for instance Private().NoCache()
// renders "private, no-cache" (RFC 9111 §5.2.2.4).
func (p Policy) NoCache() Policy {
	p.flags |= fNoCache
	return p.render()
}

// CDNMaxAge sets the CDN-Cache-Control field (RFC 9213), which CDNs honour
// in place of Cache-Control. It renders as "public, max-age=N", followed by
// stale-while-revalidate and stale-if-error when the policy sets them.
// d is rounded down to whole seconds; a negative d is 0.
func (p Policy) CDNMaxAge(d time.Duration) Policy {
	p.flags |= fCDNMaxAge
	p.cdnMaxAge = seconds(d)
	return p.render()
}

// Vary adds request header fields that select the response variant
// (RFC 9110 §12.5.5). Names are canonicalised (textproto form), deduplicated
// case-insensitively and may be given as comma-separated lists. "*" replaces
// every other field: a Vary list containing "*" means "*".
func (p Policy) Vary(fields ...string) Policy {
	out := append([]string(nil), p.vary...) // never share the base's array
	for _, f := range fields {
		for rest := f; rest != ""; {
			var e string
			e, rest = nextElem(rest)
			out = addVaryField(out, e)
		}
	}
	if len(out) == 0 {
		out = nil
	}
	p.vary = out
	return p
}

// Tags adds static surrogate keys (tags) that Strata indexes the stored
// response under, for [Policy.TagsFor] and purging by tag. Empty tags and
// duplicates are dropped. Tags should not contain spaces or commas, which
// separate keys in the Surrogate-Key and Cache-Tag fields.
func (p Policy) Tags(tags ...string) Policy {
	out := append([]string(nil), p.tags...) // never share the base's array
	for _, t := range tags {
		if t != "" && !contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		out = nil
	}
	p.tags = out
	return p
}

// TagFunc sets a function computing per-request surrogate keys, added to the
// static ones by [Policy.TagsFor]. A later call replaces an earlier one; nil
// removes it. f is called concurrently and must not modify the request.
func (p Policy) TagFunc(f func(*http.Request) []string) Policy {
	p.tagFunc = f
	return p
}

// NegativeTTL sets how long error responses such as 404 and 410 are cached
// when they carry no explicit freshness. 0 (the default) leaves it to the
// cache's default rules; a negative d is 0. It is a cache-only setting and is
// not rendered into any header.
func (p Policy) NegativeTTL(d time.Duration) Policy {
	p.negTTL = max(d, 0)
	return p
}

// IgnoreQuery adds query parameters (compared case-sensitively, as URLs are)
// that are left out of the cache key, such as utm_source. It is a cache-only
// setting and is not rendered into any header.
func (p Policy) IgnoreQuery(params ...string) Policy {
	out := append([]string(nil), p.ignoreQuery...) // never share the base's array
	for _, q := range params {
		if q != "" && !contains(out, q) {
			out = append(out, q)
		}
	}
	if len(out) == 0 {
		out = nil
	}
	p.ignoreQuery = out
	return p
}

// IsZero reports whether p is the zero Policy, which sets nothing.
func (p Policy) IsZero() bool {
	return p.flags == 0 && len(p.vary) == 0 && len(p.tags) == 0 &&
		p.tagFunc == nil && p.negTTL == 0 && len(p.ignoreQuery) == 0
}

// CacheControl returns the rendered Cache-Control value, "" for a policy
// that sets no directive. It does not allocate.
func (p Policy) CacheControl() string { return p.cc }

// CDNCacheControl returns the rendered CDN-Cache-Control value (RFC 9213),
// "" when [Policy.CDNMaxAge] was not set. It does not allocate.
func (p Policy) CDNCacheControl() string { return p.cdn }

// VaryFields returns the canonical Vary field names. The slice is shared and
// must not be modified.
func (p Policy) VaryFields() []string { return clip(p.vary) }

// TagsFor returns the surrogate keys for a response to r: the static tags
// followed by those of the TagFunc (when set and r is not nil), without
// empty tags or duplicates. Without a TagFunc it returns the static tags
// without allocating; that slice is shared and must not be modified.
func (p Policy) TagsFor(r *http.Request) []string {
	if p.tagFunc == nil || r == nil {
		return clip(p.tags)
	}
	dyn := p.tagFunc(r)
	if len(dyn) == 0 {
		return clip(p.tags)
	}
	out := make([]string, len(p.tags), len(p.tags)+len(dyn))
	copy(out, p.tags)
	for _, t := range dyn {
		if t != "" && !contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// NegTTL returns the negative-caching TTL set by [Policy.NegativeTTL].
func (p Policy) NegTTL() time.Duration { return p.negTTL }

// IgnoredQuery returns the query parameters left out of the cache key. The
// slice is shared and must not be modified.
func (p Policy) IgnoredQuery() []string { return clip(p.ignoreQuery) }

// Apply writes the policy into response headers h: it sets Cache-Control and
// CDN-Cache-Control only where the handler has not set them (the handler's
// own value wins), and merges the policy's Vary fields into h with
// [MergeVary]. A zero Policy, or a nil h, leaves h untouched.
//
// A handler that sets its own Cache-Control has taken over caching for that
// response, so the policy's CDN-Cache-Control is not added either: a CDN
// obeys CDN-Cache-Control in place of Cache-Control (RFC 9213 §2), and the
// policy's value would otherwise override, say, the handler's "no-store".
//
// Surrogate-Key is not written here: it depends on the request (see
// [Policy.TagsFor] and [SurrogateKey]).
func (p Policy) Apply(h http.Header) {
	if h == nil || p.IsZero() {
		return
	}
	// Keys are in canonical form, so the map is indexed directly.
	if len(h["Cache-Control"]) == 0 {
		if p.cc != "" {
			h["Cache-Control"] = []string{p.cc}
		}
		if p.cdn != "" && len(h["Cdn-Cache-Control"]) == 0 {
			h["Cdn-Cache-Control"] = []string{p.cdn}
		}
	}
	if len(p.vary) > 0 {
		MergeVary(h, p.vary...)
	}
}

// render fills p.cc and p.cdn from the directive fields. It is called by
// every method that changes a directive, so reads never render.
func (p Policy) render() Policy {
	p.cc = p.renderCC()
	p.cdn = p.renderCDN()
	return p
}

func (p Policy) renderCC() string {
	if p.flags&fNoStore != 0 {
		// §5.2.2.5: nothing is stored, so freshness directives are moot.
		return "no-store"
	}
	var buf [192]byte
	b := buf[:0]
	b = appendFlag(b, p.flags, fPublic, "public")
	b = appendFlag(b, p.flags, fPrivate, "private")
	b = appendFlag(b, p.flags, fNoCache, "no-cache")
	b = appendDelta(b, p.flags, fMaxAge, "max-age", p.maxAge)
	b = appendDelta(b, p.flags, fSMaxAge, "s-maxage", p.sMaxAge)
	b = appendDelta(b, p.flags, fSWR, "stale-while-revalidate", p.swr)
	b = appendDelta(b, p.flags, fSIE, "stale-if-error", p.sie)
	b = appendFlag(b, p.flags, fMustRevalidate, "must-revalidate")
	b = appendFlag(b, p.flags, fProxyRevalidate, "proxy-revalidate")
	b = appendFlag(b, p.flags, fNoTransform, "no-transform")
	b = appendFlag(b, p.flags, fImmutable, "immutable")
	return string(b)
}

func (p Policy) renderCDN() string {
	if p.flags&fCDNMaxAge == 0 {
		return ""
	}
	// RFC 9213 §2: CDN-Cache-Control carries Cache-Control directives for
	// CDNs only, which then ignore Cache-Control.
	var buf [96]byte
	b := append(buf[:0], "public"...)
	b = appendDelta(b, p.flags, fCDNMaxAge, "max-age", p.cdnMaxAge)
	b = appendDelta(b, p.flags, fSWR, "stale-while-revalidate", p.swr)
	b = appendDelta(b, p.flags, fSIE, "stale-if-error", p.sie)
	return string(b)
}

func appendFlag(b []byte, flags, f uint16, name string) []byte {
	if flags&f == 0 {
		return b
	}
	if len(b) > 0 {
		b = append(b, ", "...)
	}
	return append(b, name...)
}

func appendDelta(b []byte, flags, f uint16, name string, v int64) []byte {
	if flags&f == 0 {
		return b
	}
	b = appendFlag(b, flags, f, name)
	b = append(b, '=')
	return strconv.AppendInt(b, v, 10)
}

// seconds converts d to delta-seconds (RFC 9111 §1.2.2): whole seconds,
// rounded down, never negative, and at most 2^31, the value the RFC uses for
// "infinity".
func seconds(d time.Duration) int64 {
	return min(max(int64(d/time.Second), 0), maxDelta)
}

// clip returns s with its capacity cut to its length, so that a caller's
// append copies instead of writing into the Policy's array.
func clip(s []string) []string { return s[:len(s):len(s)] }

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
