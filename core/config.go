package core

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/strata-cache/strata/negative"
)

// Config configures a Cache. The zero value is a working L1-only cache with safe defaults;
// every field's comment ends with its default. Durations and sizes that are negative disable
// the feature where the comment says so.
type Config struct {
	// Name is the cache name in the Cache-Status header (RFC 9211). Default "strata".
	Name string

	// Namespace prefixes every key the cache stores, so several caches can share one L2
	// (give each its own fleet too: redisstore.Options.Prefix). Default "strata".
	Namespace string

	// L1MaxBytes bounds the in-process L1 (bigcache). An entry costs the process its body
	// and header fields plus about 200 bytes (its record, key, bigcache's header and index):
	// 1.18× the answers held, 1.31× their bodies, for 1 KiB answers in a full L1; more while
	// bigcache's queues are still growing (docs/performance.md, "Memory"). Default 64 MiB.
	L1MaxBytes int
	// HotBytes bounds a decoded view of the most recently hit L1 entries, which saves the
	// copy and decode of an L1 read on repeated hits. It counts against memory on top of
	// L1MaxBytes. Default 8 MiB; negative disables.
	HotBytes int
	// TagIndexBytes bounds the in-process tag index, which maps surrogate keys (tags) to the
	// L1 entries stored under them (with a shared fleet too: a purge by tag deletes the L1
	// copies it names even when the fleet lost its own index of the tag). It
	// holds one key per tagged L1 entry, in its own copies of the strings; a key leaves it
	// when its entry leaves the L1. The bound is an estimate of its heap: the strings plus a
	// fixed cost per key, tag and link, about 300 bytes for a key with a tag of its own, so
	// the default holds about 28,000 such keys per 64 MiB of L1. It also holds at most
	// L1MaxBytes/256 keys. When full, its oldest keys are dropped and their entries deleted
	// from the L1 with them, so a purge by tag never misses a cached entry; with many small
	// tagged entries (under about 2 KiB each, by default) the index, not the L1, then bounds
	// how many are cached: raise it to keep more. Default L1MaxBytes/8.
	TagIndexBytes int
	// DisableL1 turns the in-process tier off (every lookup goes to L2). Default false.
	DisableL1 bool

	// L2 is the shared tier, reached by every instance: store/redisstore (Redis: single
	// node, Sentinel or Cluster), store/memcached, or any Tier. It is the caller's: Close does
	// not close it. Default nil (L1 only).
	L2 Tier
	// Fleet lets the instances sharing L2 agree: one fills a key while the others wait for
	// it, purges and PurgeAll reach every instance, and all key with one secret. Default: L2
	// when it is a Fleet too (redisstore's Store is), else an in-process fleet of one, whose
	// purges reach this instance only.
	Fleet Fleet

	// MaxBodyBytes is the largest body stored; a larger response streams through unstored.
	// Default 1 MiB.
	MaxBodyBytes int
	// MaxEntryBytes bounds the encoded size of a stored entry: body, header fields, tags and
	// bookkeeping. A larger response is served but stored in no tier (Cache-Status detail
	// "too-large"), so no tier holds what another refuses. Default MaxBodyBytes + 64 KiB.
	MaxEntryBytes int
	// MaxVariants caps the Vary variants stored per URL; past it, storing a new variant
	// evicts the one that expires first. Default 16.
	MaxVariants int
	// IgnoreQuery lists query parameters left out of every key (e.g. "utm_source").
	// Default none.
	IgnoreQuery []string
	// Host, when set, replaces the request's host in every key: for a service that answers
	// one site under several names or ports (instances behind a load balancer reached on
	// different addresses). Purge URLs map to it too. Default "" (the request's Host).
	Host string
	// TrustForwardedHost trusts X-Forwarded-Host: a request carrying one is cached, keyed on
	// both that host and the Host it arrived with, and purges name the forwarded host. A value
	// that is not one valid host[:port] passes the cache by. Only enable it behind a proxy
	// that sets the header. Default false: a request with X-Forwarded-Host bypasses the cache.
	TrustForwardedHost bool
	// TrustHeaders lists request fields the application lets change its answers without a
	// Vary: each is added to every key. By default a GET or HEAD carrying one of
	// UnkeyedFields (forwarded host, scheme, prefix, method and URL overrides) passes the
	// cache by unstored; trusting X-Forwarded-Proto also makes it the key's scheme (it must
	// be "http" or "https"). Only trust fields a proxy in front of the service sets or
	// overwrites. Default none.
	TrustHeaders []string

	// KeySegments, when set, adds application segments to every key of a request: the
	// tenant, the API version, whatever else the application answers on that is neither in
	// the URL nor in a Vary field. They are one more length-prefixed component of the primary
	// key, after the method class, scheme, host, target and query, which stay as they are:
	// segments select among the entries of a URL, never another URL's, and a segment value
	// cannot forge another request's key (["a,b"] and ["a", "b"] are different keys). Stored
	// entries carry their full key and every read compares it, segments included, so requests
	// with different segments never share an entry even when their store keys collide. nil
	// and an empty list are the same key: the one a request has without KeySegments.
	//
	// It is called once per request (every method), on the request's goroutine, before
	// anything else the cache does except Skip; the segments it returns hold for the whole
	// request, its fill and any background refresh. It must be quick and deterministic for
	// equal inputs. A request whose segments come from a request field (a tenant header)
	// needs that field to be set by something the application trusts, as for TrustHeaders.
	//
	// The invalidation after a successful unsafe request (RFC 9111 §4.4) removes the entries
	// of the request's own segments; Purge(url) removes the entries stored without segments,
	// PurgeWithSegments those of given segments, PurgeTags works across segments.
	//
	// A KeySegments that panics (other than with http.ErrAbortHandler) is logged and its
	// request passes the cache by ("fwd=bypass; detail=key-hook"): it is answered by the
	// handler, nothing is looked up or stored for it, and for an unsafe method nothing is
	// invalidated (the entries it would invalidate cannot be named), so a panic costs
	// freshness, never isolation. Default nil (no segments).
	KeySegments func(r *http.Request) []string

	// Skip, when it returns true, passes a GET or HEAD request by the cache, as an upgrade
	// is: no lookup, no store, no coalescing with other requests; the handler answers on the
	// client's writer, with "Cache-Status: <Name>; fwd=bypass; detail=skip" and an Observer
	// event with Reason "skip". It is asked about GET and HEAD only: other methods are
	// never looked up or stored anyway, and a successful unsafe request still invalidates
	// its URL (RFC 9111 §4.4), whatever Skip would say, because the write changes what
	// other, unskipped requests have cached. A Skip that panics is logged and skips.
	// Adapters take a per-middleware skip too (HandlerOptions.Skip). Default nil.
	Skip func(r *http.Request) bool

	// KeySecret seeds the keyed hash of store keys, so nobody can compute colliding requests
	// offline (entries are verified on read regardless). Instances sharing an L2 must share
	// it. Default: a random secret, shared by the fleet through Redis (created once under
	// "<Namespace>:secret"), or per process without Redis.
	KeySecret []byte

	// EntryMACKey, when set, makes every entry the cache writes to L2 carry an HMAC-SHA256
	// (truncated to 16 bytes) of its bytes and of the key it is stored under, verified on
	// every L2 read: a value that anyone else with access to the L2 wrote (a forged entry, one
	// with an injected Set-Cookie, a valid entry copied under another key or namespace
	// generation) is a miss, deleted, and reported as Observer.Error(TierL2, OpVerify). The
	// checksum that every entry carries catches accidents, not an attacker. The key must
	// stay out of the L2 (take it from your secret store, as KeySecret), at least 16 bytes;
	// instances sharing an L2 must share it (while a fleet moves to a new key, entries written
	// with the other one are misses). L1 values are written by this process and not checked.
	// Default nil: no MAC.
	EntryMACKey []byte

	// HonorRequestNoCache makes a client's "Cache-Control: no-cache" or "max-age=0" send the
	// request to the origin (RFC 9111 §5.2.1), its min-fresh revalidate an entry with less
	// freshness left (§5.2.1.3), and its max-stale accept a stale entry without revalidation
	// (§5.2.1.2; not one that says must-revalidate, proxy-revalidate, no-cache or s-maxage).
	// Like Varnish and nginx, the default ignores them, so clients cannot force origin load.
	// Default false.
	HonorRequestNoCache bool

	// Negative configures caching of error answers (404, 410, …). Default: negative.Rules{}.
	Negative negative.Rules

	// AutoETag adds a strong ETag to stored responses that have none, so clients can
	// revalidate with If-None-Match. Default true; set DisableAutoETag to turn it off.
	DisableAutoETag bool
	// DisableETagUncached turns off ETags on answers the cache does not store. By default a
	// 200 answer to GET or HEAD that is not stored (a private page, say) gets a strong ETag
	// computed from its body when the handler set none, and a request whose If-None-Match
	// matches it gets a 304 (the handler still runs; the body is not sent). Exceptions:
	// streamed answers and answers over MaxBodyBytes, answers with a Content-Encoding, and
	// answers with Cache-Control: no-store. Default false (ETags on).
	DisableETagUncached bool
	// Deprecated: ETags on answers the cache does not store are on by default; see
	// DisableETagUncached. This field has no effect.
	ETagUncached bool

	// LockWait is how long a request waits for another request (in this process or, with a
	// shared fleet, on another instance) that is filling the same key. When it runs out, one
	// waiter takes over (in the process, and one instance of the fleet) while the others wait
	// once more, for either fill; then they run the handler themselves. So an origin slower
	// than LockWait costs one extra run, and one slower than twice LockWait lets the waiters
	// through: set it above the origin's slowest answer. Default 3s.
	LockWait time.Duration
	// LockTTL is the lifetime of the fleet-wide fill lock; it is extended every LockTTL/2
	// while the handler runs, so a holder that died (or cannot reach the fleet) loses it
	// within LockTTL and a waiter takes over. Default 3s.
	LockTTL time.Duration
	// HitForMiss remembers a key whose response was not storable, so later requests for it
	// skip the coalescing queue (Varnish's hit-for-miss). Default 10s; negative disables.
	HitForMiss time.Duration
	// Keep holds entries that have a validator (ETag or Last-Modified) in the tiers this
	// long after they go stale, so the next request revalidates them with a conditional
	// request (RFC 9111 §4.3) and a 304 refreshes them without a new body. Default 1m;
	// negative disables.
	Keep time.Duration
	// RevalidateTimeout bounds a background revalidation (stale-while-revalidate, early
	// refresh); Close also cancels one that runs detached. Default 10s.
	RevalidateTimeout time.Duration

	// Beta scales probabilistic early refresh (XFetch): a hit refreshes early when
	// now - recompute*Beta*ln(rand) >= expiry. Default 1; negative disables.
	Beta float64
	// Jitter spreads tier expiry by up to this fraction of the TTL, so keys stored together
	// do not expire together. Default 0.05; negative disables.
	Jitter float64

	// ForwardSurrogateKey passes Surrogate-Key / Cache-Tag response headers on to the client
	// (a CDN). By default they are stripped after being indexed. Default false.
	ForwardSurrogateKey bool
	// Debug adds the key parameter to Cache-Status. Default false.
	Debug bool

	// Purger is called on every purge, to purge a CDN too. Default nil.
	Purger Purger
	// Observer receives an event per request, for metrics. Default nil.
	Observer Observer
	// Logger receives the cache's own errors (rate-limited: one line per second per kind,
	// with the count held back), handler panics, and purger failures; the L2 and the fleet
	// log through their own loggers. Default: discard.
	Logger *slog.Logger

	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Rand returns a float in [0,1). Default math/rand/v2.Float64.
	Rand func() float64

	// HeuristicFreshness, when positive, stores responses that have no explicit freshness
	// (no s-maxage, max-age or Expires) but a Last-Modified, fresh for this fraction of the
	// time since that date (RFC 9111 §4.2.2; 0.1 is typical): responses with a heuristically
	// cacheable status (RFC 9110 §15.1: 200, 203, 204, 300, 301, 308, 404, 405, 410, 414) that
	// nothing else keeps out of the cache (no-store, private, no-cache, Authorization,
	// Set-Cookie, Vary: *). A negative-caching rule that applies (Negative) wins over it. Many
	// origins do not expect a shared cache to keep what they sent no freshness for, so it is
	// off unless set. At most 1. Default 0 (off).
	HeuristicFreshness float64
	// HeuristicMax caps a heuristic freshness lifetime. Default 24h when HeuristicFreshness
	// is set.
	HeuristicMax time.Duration

	// TargetedFields lists targeted cache-control fields (RFC 9213) that this cache obeys, in
	// order of precedence, e.g. "CDN-Cache-Control" for a cache that acts as a CDN. The first
	// one a response carries with a valid, non-empty value replaces its Cache-Control and
	// Expires for this cache's storage and freshness decisions; it is still forwarded
	// unchanged, for the caches downstream that it may target too. Strata usually runs in
	// the origin's own process behind a CDN, and the CDN-Cache-Control its route policies
	// send is meant for that CDN, not for Strata: so none is obeyed unless listed here.
	// "Cache-Control" itself is not a targeted field. Default none.
	TargetedFields []string
	// StaleIfError serves an entry up to this long past its freshness when the origin fails
	// to answer it (a 5xx answer or a panic; examples/proxy answers 502 for an upstream it
	// cannot reach), as a response's own stale-if-error does (RFC 5861 §4): for responses
	// that set no stale-if-error of their own and do not forbid stale answers
	// (must-revalidate, proxy-revalidate, no-cache, s-maxage). RFC 9111 §4.2.4 lets a cache
	// serve stale when it cannot reach the origin, or when configured to; a stale answer says
	// so in Cache-Status (detail=stale-if-error). Entries stay in the tiers that much longer.
	// Default 0 (off: only a response's own stale-if-error).
	StaleIfError time.Duration
	// OutageL1TTL caps the L1 lifetime of entries while the fleet's bus is down (Redis
	// unreachable or hung): another instance's purge cannot reach this one then, so this is
	// how long an entry refilled during an outage may outlive a purge made elsewhere. The L1
	// is also dropped when the bus breaks and when it is back. A larger value spares the
	// origin during an outage at the price of that staleness. Default 1s; negative: no cap.
	// Without a shared fleet (no L2, or one that is not a Fleet) it does not apply.
	OutageL1TTL time.Duration
}

// validate fills defaults into a copy of the caller's Config.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Name == "" {
		cfg.Name = "strata"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "strata"
	}
	for _, ch := range cfg.Namespace {
		if ch == '{' || ch == '}' || ch == ' ' {
			return cfg, fmt.Errorf("core: Namespace %q must not contain braces or spaces", cfg.Namespace)
		}
	}
	if cfg.L1MaxBytes == 0 {
		cfg.L1MaxBytes = 64 << 20
	}
	if cfg.HotBytes == 0 {
		cfg.HotBytes = 8 << 20
	}
	if cfg.L1MaxBytes < 0 {
		return cfg, errors.New("core: L1MaxBytes must not be negative (use DisableL1)")
	}
	if cfg.TagIndexBytes == 0 {
		cfg.TagIndexBytes = cfg.L1MaxBytes / 8
	}
	if cfg.TagIndexBytes < 0 {
		return cfg, errors.New("core: TagIndexBytes must not be negative")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxBodyBytes < 0 {
		return cfg, errors.New("core: MaxBodyBytes must not be negative")
	}
	if cfg.MaxEntryBytes == 0 {
		cfg.MaxEntryBytes = cfg.MaxBodyBytes + 64<<10
	}
	if cfg.MaxEntryBytes < 0 {
		return cfg, errors.New("core: MaxEntryBytes must not be negative")
	}
	if cfg.MaxVariants == 0 {
		cfg.MaxVariants = 16
	}
	if cfg.MaxVariants < 0 {
		return cfg, errors.New("core: MaxVariants must not be negative")
	}
	if cfg.LockWait == 0 {
		cfg.LockWait = 3 * time.Second
	}
	if cfg.LockTTL == 0 {
		cfg.LockTTL = 3 * time.Second
	}
	if cfg.OutageL1TTL == 0 {
		cfg.OutageL1TTL = time.Second
	}
	if cfg.HitForMiss == 0 {
		cfg.HitForMiss = 10 * time.Second
	}
	if cfg.Keep == 0 {
		cfg.Keep = time.Minute
	}
	if cfg.RevalidateTimeout == 0 {
		cfg.RevalidateTimeout = 10 * time.Second
	}
	if cfg.Beta == 0 {
		cfg.Beta = 1
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = 0.05
	}
	if cfg.Jitter > 0.5 {
		return cfg, errors.New("core: Jitter must be at most 0.5")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.EntryMACKey != nil && len(cfg.EntryMACKey) < 16 {
		return cfg, errors.New("core: EntryMACKey must be at least 16 bytes")
	}
	if cfg.DisableL1 && cfg.L2 == nil {
		return cfg, errors.New("core: DisableL1 needs an L2")
	}
	if !(cfg.HeuristicFreshness >= 0 && cfg.HeuristicFreshness <= 1) { // NaN too
		return cfg, errors.New("core: HeuristicFreshness must be between 0 and 1")
	}
	if cfg.HeuristicMax < 0 {
		return cfg, errors.New("core: HeuristicMax must not be negative")
	}
	if cfg.HeuristicFreshness > 0 && cfg.HeuristicMax == 0 {
		cfg.HeuristicMax = 24 * time.Hour
	}
	if len(cfg.TargetedFields) > 0 {
		names := make([]string, 0, len(cfg.TargetedFields)) // the caller's slice is left as it is
		for _, f := range cfg.TargetedFields {
			name := http.CanonicalHeaderKey(strings.TrimSpace(f))
			if name == "" || name == "Cache-Control" || strings.ContainsAny(name, " \t:,") {
				return cfg, fmt.Errorf("core: TargetedFields: %q is not a targeted field name", f)
			}
			names = append(names, name)
		}
		cfg.TargetedFields = names
	}
	if cfg.StaleIfError < 0 {
		return cfg, errors.New("core: StaleIfError must not be negative")
	}
	neg, err := cfg.Negative.Validate()
	if err != nil {
		return cfg, fmt.Errorf("core: %w", err)
	}
	cfg.Negative = neg
	return cfg, nil
}
