// Package headers builds and reads the HTTP caching header fields that Strata
// works with: a typed, immutable [Policy] that renders Cache-Control,
// CDN-Cache-Control, Vary and Surrogate-Key, and a tolerant parser of
// Cache-Control directives, [ParseCacheControl].
//
// It depends on the standard library only and on no other Strata package.
//
// # Policies
//
// A route declares its policy once, at setup, with a preset and fluent
// methods:
//
//	p := headers.Public(10 * time.Second).
//		SMaxAge(time.Minute).
//		StaleWhileRevalidate(5 * time.Minute).
//		Tags("products")
//	p.CacheControl() // "public, max-age=10, s-maxage=60, stale-while-revalidate=300"
//
// The presets are [Public], [Private], [NoStore], [NoCache] and [Immutable].
// Every method returns a modified copy, so a base policy can be shared and
// specialised freely. Header values are rendered while the policy is built:
// reading them on each request costs nothing.
//
// Directives are rendered in a fixed order (public, private, no-cache,
// no-store, max-age, s-maxage, stale-while-revalidate, stale-if-error,
// must-revalidate, proxy-revalidate, no-transform, immutable). Durations
// are rounded down to whole seconds; negative ones count as 0 and ones over
// 2^31 seconds as 2^31 (RFC 9111 §1.2.2). A policy renders what was asked
// for, even where a directive is moot (s-maxage on a private response), with
// one exception: a no-store policy renders just "no-store".
//
// # Applying a policy
//
// [Policy.Apply] writes Cache-Control and CDN-Cache-Control into a response
// unless the handler set them itself: an explicit header from the handler
// always wins, and a handler that sets its own Cache-Control gets no
// CDN-Cache-Control from the policy either. Vary fields are merged into
// whatever the handler set, with [MergeVary].
//
// The cache-only settings, [Policy.Tags], [Policy.TagFunc],
// [Policy.NegativeTTL] and [Policy.IgnoreQuery], are not rendered; the cache
// reads them with [Policy.TagsFor], [Policy.NegTTL] and
// [Policy.IgnoredQuery]. [SurrogateKey] renders tags for the Surrogate-Key
// field that CDNs purge by, and [ParseSurrogateKey] reads it (or Cache-Tag)
// back.
//
// # Parsing Cache-Control
//
// [ParseCacheControl] reads every Cache-Control field line of a request or a
// response into [Directives], following RFC 9111 §5.2 and §1.2.2 and
// erring on the conservative side where the input is broken: an invalid
// max-age makes the response stale, a repeated max-age takes its lowest
// value, a delta-seconds value too large to hold is 2^31. It never panics,
// and in the common case, a few unqualified directives, it does not
// allocate.
//
// # Standards
//
//   - RFC 9111, HTTP Caching: Cache-Control directives (§5.2), delta-seconds
//     (§1.2.2), freshness (§4.2).
//   - RFC 9110, HTTP Semantics: lists, tokens and quoted strings (§5.6),
//     Vary (§12.5.5).
//   - RFC 5861: stale-while-revalidate and stale-if-error.
//   - RFC 8246: immutable.
//   - RFC 9213: CDN-Cache-Control.
package headers
