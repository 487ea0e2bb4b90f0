package core

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync"
	"time"
	"unsafe"

	"github.com/strata-cache/strata/etag"
	"github.com/strata-cache/strata/headers"
)

// Middleware returns the caching handler in front of next. It serves GET and HEAD from the
// cache and passes every other method through, invalidating on a successful unsafe request.
//
// next may run detached (see HandlerOptions.Detach): a stale answer that cannot be flushed is
// refreshed on a goroutine of the cache, after the client's request returned. That is safe
// when the cache wraps the router (cache.Middleware(mux)), or sits in a chain of plain
// net/http middleware; with chi around the cache use chicache.Middleware, which copies chi's
// pooled route context for it.
func (c *Cache) Middleware(next http.Handler) http.Handler {
	return c.Handler(next, HandlerOptions{Detach: DetachAsIs})
}

// HandlerOptions are what an adapter knows about its framework.
type HandlerOptions struct {
	// Route names the route pattern of a request after the handler ran (chi's RoutePattern,
	// gin's FullPath, echo's Path). It labels metrics and is stored in entries, so hits are
	// labelled too. Default: the pattern of the net/http ServeMux route that handled the
	// request, without its method ("GET /products/{id}" → "/products/{id}"); see muxRoute.
	Route func(*http.Request) string

	// Detach lets next run after the client's request returned, for a background refresh
	// whose stale answer could not be flushed (an outer middleware's writer without Flush):
	// the cache then answers at once and refreshes on a goroutine of its own, with a request
	// it owns, built from the client's (method, URL, Host, a copy of the header, RemoteAddr,
	// TLS; the context's values without its cancellation, bounded by
	// Config.RevalidateTimeout). Detach receives that request on the client's goroutine,
	// before the client's request returns, and returns the request next is given: it must
	// copy whatever request-scoped state its framework pools or resets once the request
	// returns (chicache clones chi's route context). DetachAsIs adds nothing.
	//
	// Nil (the default for Handler) means next must not run detached: gin and echo bind it to
	// their pooled contexts. The refresh is then left to the key's next request, which
	// revalidates in the foreground. Middleware sets DetachAsIs.
	Detach func(*http.Request) *http.Request

	// Skip is the adapter's own skip predicate (echo's Skipper, a gin or chi option), asked
	// as Config.Skip is, before it: a GET or HEAD for which it returns true passes the cache
	// by to next, with "Cache-Status: <Name>; fwd=bypass; detail=skip"; other methods are
	// not asked about, and a successful unsafe request still invalidates. A Skip that panics
	// is logged and skips. Default nil.
	Skip func(*http.Request) bool
}

// DetachAsIs is a HandlerOptions.Detach for a next handler that holds no pooled
// per-request state: the cache's own copy of the request is used unchanged.
func DetachAsIs(r *http.Request) *http.Request { return r }

// Handler is Middleware with options, for adapters.
func (c *Cache) Handler(next http.Handler, o HandlerOptions) http.Handler {
	if o.Skip == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { c.serve(w, r, next, o) })
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && c.skipped(o.Skip, r) {
			c.serveBypass(w, r, next, o.Route, ReasonSkip)
			return
		}
		c.serve(w, r, next, o)
	})
}

// exchange is the state of one request through the cache.
type exchange struct {
	w       http.ResponseWriter
	r       *http.Request
	next    http.Handler
	start   time.Time // when the cache began to handle it (read by observe: set with an Observer only)
	st      *reqState // per-route policy state, created for a fill when absent
	routeFn func(*http.Request) string
	handled *http.Request                     // the request the handler ran with, once it returned
	detach  func(*http.Request) *http.Request // HandlerOptions.Detach

	ignore  []string // query parameters the route's policy leaves out of the key
	k       keys
	pk      string      // primary key, verified against every entry read
	vkey    string      // secondary key (normalised Vary values) of the variant looked up
	base    string      // base key ("<ns>:{h}:gen:v"), set by keyRequest
	lk      string      // the key this request fills: base, or the variant key find selected
	vrec    *varyRecord // vary record found at base, if any
	variant uint64      // variant selected by vrec

	fwd       string // Cache-Status fwd reason for a fill
	l2open    bool   // the lookup skipped L2: its breaker is open (Cache-Status detail=l2-open)
	noStore   bool   // the request forbids storing (request no-store)
	auth      bool   // request carries Authorization
	collision bool   // the store key holds another request's entry: neither served nor overwritten

	stale    *entry // stale entry being revalidated
	staleRaw []byte
	depth    int  // lookups again after a waiter's leader failed or stored another variant
	rekeyed  bool // the key leaves out the route policy's ignored query parameters

	onlyIfCached bool   // request Cache-Control: only-if-cached (RFC 9111 §5.2.1.7)
	takeover     bool   // x leads in place of a slow leader (see flights.rejoin, fleetLock)
	fence        uint64 // the key's fence when x was keyed (fence.go)
	tagSeq       uint64 // the purges by tag when x was keyed (fence.go)

	// background marks a refresh the cache runs for itself after the client had its answer
	// (see revalidateAfter): w is nil, nothing is written, and a fleet lock held elsewhere
	// means the refresh is done already.
	background bool

	// Request min-fresh and max-stale, with Config.HonorRequestNoCache (see staleOK).
	minFresh    time.Duration
	maxStale    time.Duration
	hasMaxStale bool

	// found is what the last lookup found (find), kept here so that an entry x serves or
	// revalidates, and its fields (up to len(found.fa)), cost no allocation of their own.
	found found
}

func (c *Cache) serve(w http.ResponseWriter, r *http.Request, next http.Handler, o HandlerOptions) {
	if c.cfg.Skip != nil || c.cfg.KeySegments != nil { // the application's hooks (hooks.go)
		var reason Reason
		if r, reason = c.hooks(r); reason != "" {
			c.serveBypass(w, r, next, o.Route, reason)
			return
		}
	}
	route := o.Route
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if reason := bypassReason(r); reason != "" {
			c.serveBypass(w, r, next, route, reason) // upgrades and CONNECT (bypass.go)
			return
		}
		c.serveUnsafe(w, r, next, route)
		return
	}
	// A GET or HEAD: upgrades and unkeyed inputs pass the cache by (classify.go).
	if d := c.classify(r); d != "" {
		c.serveBypass(w, r, next, route, Reason(d))
		return
	}
	served, pk, hash := c.serveFast(w, r, route)
	if served {
		return
	}
	x, lookup := c.begin(w, r, next, o)
	c.keyRequest(x, pk, hash)
	if !lookup {
		c.fill(x, false) // never looked up: runs alone, answers as it comes
		return
	}
	for {
		f := &x.found
		if !c.find(x, f) || c.serveFound(x, f) {
			return
		}
		if !c.fill(x, !x.collision) {
			return
		}
		x.lookAgain() // a waiter whose leader failed, or stored another variant
	}
}

// begin starts the exchange of a GET or HEAD the cache handles: the request the handler will
// see (without a route's ignored query parameters) and the request's own directives. It
// reports false when the request must not be answered from the cache (Authorization, an
// honoured client no-cache): it then only fills.
func (c *Cache) begin(w http.ResponseWriter, r *http.Request, next http.Handler, o HandlerOptions) (*exchange, bool) {
	x := &exchange{w: w, r: r, next: next, st: stateFrom(r.Context()), routeFn: o.Route, detach: o.Detach}
	if c.cfg.Observer != nil {
		x.start = c.now() // only observe reads it
	}
	if x.st != nil && x.st.hasPolicy {
		x.ignore = x.st.policy.IgnoredQuery()
	}
	// Ignored parameters are out of the key, so they must not reach the handler either.
	x.r = c.withoutIgnored(r, x.ignore)

	lookup := true
	if len(r.Header["Authorization"]) > 0 {
		// §3.5 governs storing; reuse for an authenticated request is skipped, as Varnish and
		// nginx do, so one user's credentials never select another's entry.
		x.auth, lookup = true, false
		x.fwd = "bypass"
	}
	if len(r.Header["Cache-Control"]) > 0 || len(r.Header["Pragma"]) > 0 {
		cc := headers.ParseCacheControl(r.Header["Cache-Control"])
		if cc.NoStore {
			x.noStore = true // §5.2.1.5: store no part of this request's response
		}
		x.onlyIfCached = cc.OnlyIfCached
		if c.cfg.HonorRequestNoCache && (cc.NoCache || (cc.MaxAge.Valid && cc.MaxAge.Seconds == 0) ||
			(len(r.Header["Cache-Control"]) == 0 && r.Header.Get("Pragma") == "no-cache")) {
			lookup = false // §5.2.1.4, §5.2.1.1, §5.4
			x.fwd = "request"
		}
		if c.cfg.HonorRequestNoCache {
			x.requestFreshness(cc)
		}
	}
	return x, lookup
}

// keyRequest computes the keys of x once, before any lookup or handler: the primary key
// (verified against every entry read), its keyed hash and the base key. pk and hash are the
// fast path's, when it built them (the same key, unless a route ignores query parameters).
// The key x fills is the base key until find selects a variant.
func (c *Cache) keyRequest(x *exchange, pk string, hash uint64) {
	kb := keyPool.Get().(*keyBuf) // scratch: the strings below are the only copies
	defer keyPool.Put(kb)
	gen := c.gen.Load()
	if pk == "" || x.ignore != nil {
		// Both keys in one string (one allocation): the base key appended to the primary.
		p := c.primary(kb[:0], x.r, x.ignore)
		x.k = keys{hash: c.hashKey(p), gen: gen}
		both := string(c.base(p, x.k))
		x.pk, x.base = both[:len(p)], both[len(p):]
	} else {
		x.pk, x.k = pk, keys{hash: hash, gen: gen}
		x.base = string(c.base(kb[:0], x.k))
	}
	x.lk = x.base
	x.fence = c.fences.load(x.k.hash)
	x.tagSeq = c.tags.seq.Load()
}

// keyPool holds scratch buffers for the key of a fast-path lookup: the store may not retain
// the key string, so a pooled buffer avoids an allocation per hit.
var keyPool = sync.Pool{New: func() any { return new(keyBuf) }}

// serveFast answers the common case — a plain GET or HEAD whose fresh entry is in L1 and
// needs no refresh — with nothing on the heap but the store's copy of the entry and the
// header values. Anything else (a miss, a Vary record, a stale entry, request directives,
// Authorization, a route policy set before the cache) reports false, and the full path runs.
//
// When it built the primary key before giving up, it returns it with its hash, so the full
// path does not build it again.
func (c *Cache) serveFast(w http.ResponseWriter, r *http.Request, route func(*http.Request) string) (served bool, pk string, hash uint64) {
	if c.cfg.DisableL1 || len(r.Header["Authorization"]) > 0 || len(r.Header["Cache-Control"]) > 0 ||
		len(r.Header["Pragma"]) > 0 || stateFrom(r.Context()) != nil || c.cfg.Debug {
		return false, "", 0
	}
	kb := keyPool.Get().(*keyBuf)
	defer keyPool.Put(kb)
	p := c.primary(kb[:0], r, nil)
	k := keys{hash: c.hashKey(p), gen: c.gen.Load()}
	bk := c.base(p[len(p):], k) // after p, in the same buffer
	key := unsafe.String(unsafe.SliceData(bk), len(bk))
	pks := unsafe.String(unsafe.SliceData(p), len(p))
	now := c.now()
	n := now.UnixNano()
	var e *entry
	var fields []field
	if he := c.hot.get(key, n); he != nil {
		e, fields = &he.e, he.e.fields
	} else {
		epoch := c.hot.epoch(key)
		raw, err := c.l1.Get(r.Context(), key)
		if err != nil || kindOf(raw) != kindEntry {
			return false, string(p), k.hash
		}
		e = new(entry)
		fields, err = decodeEntryTo(raw, e, nil)
		if err != nil || e.key != pks {
			return false, string(p), k.hash // the full path drops it, or treats it as another key's
		}
		c.hot.put(key, epoch, raw, e, fields)
	}
	if e.key != pks || !e.codingFor(r) {
		return false, string(p), k.hash
	}
	ttl := e.ttl(n)
	if ttl <= 0 || c.refreshEarly(e, ttl) {
		return false, string(p), k.hash
	}
	cs := cacheStatus{hit: true, ttl: ttl, hasTTL: true}
	if e.negative() {
		cs.detail = "negative"
	}
	status := c.writeStored(w, r, e, fields, e.body, cs, n)
	if c.cfg.Observer != nil {
		ev := Event{Result: hitResult(status, e), Status: status, Tier: TierL1, Duration: c.now().Sub(now), Route: e.route,
			Context: r.Context(), KeyHash: k.hash}
		if route != nil {
			if rt := route(r); rt != "" {
				ev.Route = rt
			}
		}
		c.cfg.Observer.Request(ev)
	}
	return true, "", 0
}

// hitResult is how a hit is reported.
func hitResult(status int, e *entry) Result {
	switch {
	case status == http.StatusNotModified:
		return ResultNotModified
	case e.negative():
		return ResultNegativeHit
	}
	return ResultHit
}

// refreshEarly is probabilistic early refresh (XFetch): refresh when
// now - delta*beta*ln(rand) >= expiry, delta being the time the origin took.
func (c *Cache) refreshEarly(e *entry, ttl time.Duration) bool {
	if c.cfg.Beta <= 0 || e.recompute <= 0 {
		return false
	}
	// -ln(rand) is at most -ln(2^-53) ≈ 36.8, so most hits need no logarithm at all.
	if float64(e.recompute)*c.cfg.Beta*36.8 < float64(ttl) {
		return false
	}
	return -float64(e.recompute)*c.cfg.Beta*math.Log(c.cfg.Rand()) >= float64(ttl)
}

// found is what find found for a request.
type found struct {
	e    entry
	raw  []byte
	tier TierName
	ok   bool     // e answers the request
	fa   [8]field // e.fields' backing array, when they fit
}

// find looks the request up: its base key in L1, then L2 (promoting an L2 hit to L1); a Vary
// record there selects the variant to read. It sets the key x fills (x.lk: the base or the
// variant key) and the Cache-Status fwd of a miss, and puts what it found in f. When nothing
// answers and a route leaves query parameters out of its keys, it looks once more under that
// shorter key. live is false when the client went away.
func (c *Cache) find(x *exchange, f *found) (live bool) {
	ctx := x.r.Context()
	for {
		*f = found{}
		f.e.fields = f.fa[:0] // decodeEntry decodes into it
		x.lk, x.vrec, x.vkey, x.variant = x.base, nil, "", 0
		x.fwd = "uri-miss"
		raw, tier, err := c.get(ctx, x.base)
		if err == nil && kindOf(raw) == kindVary {
			raw, tier, err = c.findVariant(x, raw)
		}
		if errors.Is(err, errL2Open) {
			x.l2open = true
		}
		if err != nil && ctx.Err() != nil {
			return false // neither an error nor a reason to run the origin
		}
		if raw != nil && c.readEntry(ctx, x, raw, &f.e, x.lk) {
			f.raw, f.tier, f.ok = raw, tier, true
			return true
		}
		if !c.rekey(x) {
			return true
		}
	}
}

// findVariant reads the variant a Vary record (raw, at x.base) selects for x, and makes its key
// the one x fills.
func (c *Cache) findVariant(x *exchange, raw []byte) ([]byte, TierName, error) {
	ctx := x.r.Context()
	var v varyRecord
	switch {
	case decodeVary(raw, &v) != nil:
		c.drop(ctx, x.base)
		return nil, "", nil
	case v.key != x.pk:
		x.collision = true // another URL's record under this store key
		return nil, "", nil
	}
	x.vrec = &v
	vk := variantValues(nil, v.fields, x.r)
	x.vkey = string(vk)
	x.variant = c.variantHash(vk)
	var vb keyBuf
	x.lk = string(c.variantKey(vb[:0], x.k, x.variant))
	x.fwd = "vary-miss"
	// Only variants the record lists are served: one a concurrent fill left out of the record
	// would escape the URL's purges and the variant cap.
	if !v.has(x.variant) {
		return nil, "", nil
	}
	return c.get(ctx, x.lk)
}

// rekey moves x to the key its route's policy leaves ignored query parameters out of, when
// the route's fills recorded such parameters (under the query-less key; see build) and x was
// not re-keyed yet. It reports whether x has a new key to look up.
func (c *Cache) rekey(x *exchange) bool {
	if x.vrec != nil || x.rekeyed || x.collision || x.r.URL.RawQuery == "" {
		return false
	}
	ignore := c.routeIgnore(x.r.Context(), x.r)
	if len(ignore) == 0 {
		return false
	}
	p := c.primary(nil, x.r, ignore)
	x.rekeyed = true
	x.pk = string(p)
	x.k = keys{hash: c.hashKey(p), gen: x.k.gen}
	x.base = string(c.base(nil, x.k))
	x.fence = c.fences.load(x.k.hash)
	return true
}

// lookAgain prepares x for another lookup: its leader failed, or stored another variant.
func (x *exchange) lookAgain() {
	x.depth++
	x.stale, x.staleRaw = nil, nil
}

// serveFound answers x from what find found, when it can: a fresh entry, a stale one the
// request or stale-while-revalidate allows, or a 504 for only-if-cached. Otherwise it reports
// false and sets up the fill: a revalidation of the stale entry, or a miss.
func (c *Cache) serveFound(x *exchange, f *found) bool {
	if !f.ok {
		if x.onlyIfCached {
			// §5.2.1.7: only-if-cached with nothing stored → 504.
			x.w.Header().Set("Cache-Status", c.renderStatus(cacheStatus{fwd: "miss", detail: "only-if-cached"}))
			x.w.WriteHeader(http.StatusGatewayTimeout)
			c.observe(x, nil, ResultMiss, ReasonOnlyIfCached, false, http.StatusGatewayTimeout, 0, "")
			return true
		}
		return false
	}
	e := &f.e
	nowN := c.now().UnixNano()
	ttl := e.ttl(nowN)
	stale := -ttl
	switch {
	case ttl > 0 && ttl >= x.minFresh:
		c.serveHit(x, e, ttl, f.tier, nowN)
		return true
	case ttl > 0:
		// §5.2.1.3: fresh, but not for min-fresh more seconds: revalidate it for this request
		// (RFC 9211: fwd=request, the request's directives did not allow its use).
		x.stale, x.staleRaw, x.fwd = e, f.raw, "request"
		return false
	case x.staleOK(e, stale):
		// §5.2.1.2: the client accepts a response stale by this much: served as it is.
		cs := cacheStatus{hit: true, ttl: ttl, hasTTL: true, detail: "max-stale"}
		status := c.writeEntry(x.w, x.r, e, cs, nowN)
		c.observe(x, e, ResultStale, "", false, status, 0, f.tier)
		return true
	case !e.noStale() && stale <= time.Duration(e.swr) && !c.due.take(x.lk, nowN):
		// RFC 5861 §3: within stale-while-revalidate, serve stale now and revalidate once;
		// unless an earlier stale answer could neither be flushed nor refreshed detached, and
		// left the refresh to this request (see revalidateAfter).
		cs := cacheStatus{hit: true, ttl: ttl, hasTTL: true, detail: "stale-while-revalidate"}
		status := c.writeEntry(x.w, x.r, e, cs, nowN)
		c.observe(x, e, ResultStale, "", false, status, 0, f.tier)
		c.revalidateAfter(x, e, f.raw)
		return true
	}
	// Stale past the window: revalidate in the foreground (§4.3), keeping the stale entry for
	// a conditional request and for stale-if-error.
	x.stale, x.staleRaw, x.fwd = e, f.raw, "stale"
	return false
}

// readEntry decodes raw, read from key, into e and checks that it answers x: the primary key
// and the variant's normalised values it was stored under are the request's, and the request
// accepts its content coding. A value that is not an entry of this cache is dropped from the
// tiers; another request's entry (a store-key collision) is left alone, and marks x so that
// its answer does not overwrite it.
func (c *Cache) readEntry(ctx context.Context, x *exchange, raw []byte, e *entry, key string) bool {
	if decodeEntry(raw, e) != nil {
		c.drop(ctx, key)
		return false
	}
	if e.key != x.pk || e.vkey != x.vkey {
		x.collision = true
		return false
	}
	return x.matches(e)
}

// matches reports whether a decoded entry answers x (see readEntry), without side effects;
// its last guard never sends a coding the client did not ask for (RFC 9110 §12.5.3).
func (x *exchange) matches(e *entry) bool {
	return e.key == x.pk && e.vkey == x.vkey && e.codingFor(x.r)
}

// serveHit answers a fresh entry, then refreshes it early when XFetch says so.
func (c *Cache) serveHit(x *exchange, e *entry, ttl time.Duration, tier TierName, now int64) {
	cs := cacheStatus{hit: true, ttl: ttl, hasTTL: true}
	if e.negative() {
		cs.detail = "negative"
	}
	if c.cfg.Debug {
		cs.key = x.lk
	}
	status := c.writeEntry(x.w, x.r, e, cs, now)
	if c.cfg.Observer != nil {
		c.observe(x, e, hitResult(status, e), "", false, status, 0, tier)
	}
	if c.refreshEarly(e, ttl) {
		c.revalidateAfter(x, e, nil)
	}
}

// writeEntry writes a stored entry to the client, answering a matching conditional request
// with 304 (RFC 9110 §13.2.2) and HEAD without a body. It returns the status sent.
func (c *Cache) writeEntry(w http.ResponseWriter, r *http.Request, e *entry, cs cacheStatus, now int64) int {
	return c.writeStored(w, r, e, e.fields, e.body, cs, now)
}

// writeStored is writeEntry with the body passed apart, so that escape analysis keeps a
// stack-allocated entry (and its field array) on the stack on the fast path.
func (c *Cache) writeStored(w http.ResponseWriter, r *http.Request, e *entry, fields []field, body []byte, cs cacheStatus, now int64) int {
	status := e.status
	if status >= 200 && status < 300 && hasPreconditions(r.Header) {
		switch etag.Evaluate(r.Method, r.Header, e.etag, modifiedAt(r.Header, e, fields)) { // validators.go
		case etag.Unmodified:
			status = http.StatusNotModified
		case etag.PreconditionFailed:
			status = http.StatusPreconditionFailed
		}
	}
	ranged, first, last := false, 0, 0
	if status == http.StatusOK && len(r.Header["Range"]) > 0 {
		ranged = true
		status, first, last = rangeOf(r, e.etag, e.lastMod, len(body)) // RFC 9110 §14 (ranges.go)
	}
	h := w.Header()
	// One backing array for every value, plus Age, Cache-Status and Content-Length.
	vals := make([]string, len(fields)+3)
	var upstream []field // the stored answer's own Cache-Status members
	i := 0
	for i < len(fields) {
		j := i + 1
		for j < len(fields) && fields[j].name == fields[i].name {
			j++
		}
		name := fields[i].name
		if name == "Cache-Status" {
			upstream, i = fields[i:j], j
			continue
		}
		if status == e.status || status == http.StatusPartialContent || !etag.OmitOn304(name, e.etag != "") {
			if status != e.status && status != http.StatusNotModified && status != http.StatusPartialContent {
				i = j
				continue // 412, 416: no representation fields
			}
			for n := i; n < j; n++ {
				vals[n] = fields[n].value
			}
			h[name] = vals[i:j:j]
		}
		i = j
	}
	if c.cfg.ForwardSurrogateKey && len(e.tags) > 0 && status != http.StatusNotModified {
		h["Surrogate-Key"] = []string{headers.SurrogateKey(e.tags)} // for the CDN
	}
	n := len(fields)
	vals[n] = itoa(int(e.age(now) / time.Second)) // §5.1
	h["Age"] = vals[n : n+1 : n+1]
	vals[n+1] = c.renderStatus(cs)
	h["Cache-Status"] = statusLines(upstream, vals[n+1:n+2:n+2])
	bodyOK := status != http.StatusNotModified && status != http.StatusNoContent && status != http.StatusPreconditionFailed && status >= 200
	if ranged && status != http.StatusOK {
		h["Content-Range"] = []string{contentRange(status, first, last, len(body))}
		body = body[first : last+1]
		if status != http.StatusPartialContent {
			body = nil // 416
		}
	}
	if bodyOK {
		if e.clen != "" && status == e.status {
			vals[n+2] = e.clen
		} else {
			vals[n+2] = itoa(len(body))
		}
		h["Content-Length"] = vals[n+2 : n+3 : n+3]
	}
	w.WriteHeader(status)
	if bodyOK && r.Method != http.MethodHead && len(body) > 0 {
		_, _ = w.Write(body)
	}
	return status
}

func hasPreconditions(h http.Header) bool {
	return len(h["If-None-Match"]) > 0 || len(h["If-Modified-Since"]) > 0 ||
		len(h["If-Match"]) > 0 || len(h["If-Unmodified-Since"]) > 0
}

// ---- fills ----

// serveStored answers x from a stored entry found after it became a leader (and hands the
// entry to the waiters of cl). It reports false when raw is not a fresh entry.
func (c *Cache) serveStored(x *exchange, raw []byte, cl *call) bool {
	var e entry
	if len(raw) == 0 || decodeEntry(raw, &e) != nil || !x.matches(&e) {
		return false
	}
	now := c.now().UnixNano()
	if e.ttl(now) <= 0 {
		return false
	}
	if cl != nil {
		c.flights.finish(x.lk, cl, fillResult{raw: raw, variant: e.variant})
	}
	cs := cacheStatus{fwd: x.fwd, collapsed: true, ttl: e.ttl(now), hasTTL: true, detail: x.detail("")}
	c.answer(x, &e, cs, ResultCollapsed, false, 0, "")
	return true
}

// sameVariant reports whether r selects the variant an entry was stored under: the same
// normalised values of the entry's Vary fields.
func (c *Cache) sameVariant(e *entry, r *http.Request) bool {
	fields, _ := varyFields(http.Header{"Vary": e.values("Vary")})
	return len(fields) == 0 || string(variantValues(nil, fields, r)) == e.vkey
}

func (c *Cache) waited(start time.Time, served bool) {
	if c.cfg.Observer != nil {
		c.cfg.Observer.Waiter(c.now().Sub(start), served)
	}
}

// fillRequest derives the request the handler sees for a fill: GET (a HEAD miss fills the GET
// entry), without the client's conditional and range headers (the cache evaluates those
// against what it stores), plus the stale entry's validators for a revalidation (§4.3.1).
func fillRequest(r *http.Request, ctx context.Context, stale *entry) *http.Request {
	if stateFrom(ctx) == nil {
		// A route-level Policy middleware inside the handler records its policy here.
		ctx = context.WithValue(ctx, ctxKey{}, &reqState{})
	}
	r2 := r.WithContext(ctx)
	r2.Method = http.MethodGet
	h := r.Header.Clone()
	for _, k := range [...]string{"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"} {
		delete(h, k)
	}
	if stale != nil {
		if stale.etag != "" {
			h["If-None-Match"] = []string{stale.etag}
		}
		if stale.lastMod != 0 {
			h["If-Modified-Since"] = []string{time.Unix(stale.lastMod, 0).UTC().Format(http.TimeFormat)}
		}
	}
	r2.Header = h
	return r2
}

// answer writes an entry to the client (if there is one) and reports the event.
func (c *Cache) answer(x *exchange, e *entry, cs cacheStatus, res Result, stored bool, origin time.Duration, tier TierName) {
	if x.background {
		return
	}
	status := c.writeEntry(x.w, x.r, e, cs, c.now().UnixNano())
	c.observe(x, e, res, "", stored, status, origin, tier)
}

// missResult is how a request that ran the handler is reported: a bypass when it was never
// looked up (Authorization, an honoured client no-cache), else a miss.
func (x *exchange) missResult() Result {
	if x.fwd == "bypass" || x.fwd == "request" {
		return ResultBypass
	}
	return ResultMiss
}

func (x *exchange) route() string {
	if x.routeFn != nil {
		return x.routeFn(x.r)
	}
	return muxRoute(x.handled, x.st)
}

// runHandler calls the handler, catching a panic so the cache can clean up; the caller
// re-panics (or serves stale under stale-if-error).
func (c *Cache) runHandler(next http.Handler, w http.ResponseWriter, r *http.Request) (panicked bool, v any) {
	defer func() {
		if p := recover(); p != nil {
			panicked, v = true, p
		}
	}()
	next.ServeHTTP(w, r)
	return false, nil
}

func (c *Cache) canServeStaleOnError(e *entry, now time.Time) bool {
	if e.noStale() {
		return false
	}
	return -e.ttl(now.UnixNano()) <= time.Duration(e.sie)
}

func (c *Cache) markUncacheable(x *exchange, now time.Time) {
	if c.cfg.HitForMiss > 0 && x.lk != "" {
		c.hfm.set(x.lk, now.Add(c.cfg.HitForMiss).UnixNano())
	}
}

// stripTags removes surrogate-key fields from a client response unless they are forwarded.
func (c *Cache) stripTags(h http.Header) {
	if !c.cfg.ForwardSurrogateKey {
		delete(h, "Surrogate-Key")
		delete(h, "Cache-Tag")
	}
}

// writeBuffered sends a response that was not stored: the handler's fields over the outer
// middleware's, an ETag and a 304 (see etagUncached), and Cache-Status.
func (c *Cache) writeBuffered(x *exchange, rec *recorder, reason Reason) {
	if x.background {
		return
	}
	h := x.w.Header()
	for k, v := range rec.snap {
		h[k] = v
	}
	c.stripTags(h)
	status := rec.status
	body := rec.buf
	if status == http.StatusOK && (x.r.Method == http.MethodGet || x.r.Method == http.MethodHead) {
		et := h.Get("Etag")
		if et == "" && c.etagUncached(h) {
			et = etag.Strong(body)
			h.Set("Etag", et)
		}
		if hasPreconditions(x.r.Header) {
			var lm time.Time
			if v := h.Get("Last-Modified"); v != "" {
				lm, _ = http.ParseTime(v)
			}
			switch etag.Evaluate(x.r.Method, x.r.Header, et, lm) {
			case etag.Unmodified:
				for k := range h {
					if etag.OmitOn304(k, et != "") {
						delete(h, k)
					}
				}
				status, body = http.StatusNotModified, nil
			case etag.PreconditionFailed:
				status, body = http.StatusPreconditionFailed, nil
			}
		}
	}
	// RFC 9211 §2: an upstream cache's members first, then this cache's.
	h.Add("Cache-Status", c.renderStatus(cacheStatus{fwd: x.fwd, fwdStatus: rec.status, detail: x.detail(string(reason))}))
	if status != http.StatusNotModified && status != http.StatusNoContent && status >= 200 {
		h.Set("Content-Length", itoa(len(body)))
	}
	x.w.WriteHeader(status)
	if x.r.Method != http.MethodHead && len(body) > 0 {
		_, _ = x.w.Write(body)
	}
}

// observe reports an event to the Observer, if any.
func (c *Cache) observe(x *exchange, e *entry, res Result, reason Reason, stored bool, status int, origin time.Duration, tier TierName) {
	if c.cfg.Observer == nil {
		return
	}
	ev := Event{Result: res, Reason: reason, Stored: stored, Status: status, Origin: origin, Tier: tier,
		Duration: c.now().Sub(x.start), Context: x.r.Context(), KeyHash: x.k.hash}
	if ev.Route = x.route(); ev.Route == "" && e != nil {
		ev.Route = e.route
	}
	c.cfg.Observer.Request(ev)
}

// awaitFleet waits, with backoff and up to LockWait, for the instance holding the fill lock:
// it returns the entry once that instance stored it, or a lock token when the lock was
// released or expired without a result (its holder panicked, was cancelled or died), so this
// request takes over. It returns neither when time is up, Redis fails or the client left: the
// caller then runs the handler without the lock.
func (c *Cache) awaitFleet(x *exchange, fleet Fleet, lockKey string) (raw []byte, token string) {
	ctx := x.r.Context()
	// LockWait bounds the wait in real time (a timer, not the injected clock, which tests
	// may hold still).
	deadline := time.NewTimer(c.cfg.LockWait)
	defer deadline.Stop()
	backoff := 2 * time.Millisecond
	var wake <-chan struct{}
	defer func() { c.wakers.forget(x.lk, wake) }()
	for {
		wake = c.wakers.wait(x.lk) // the holder's "F" message, when it ends its fill
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ""
		case <-deadline.C:
			t.Stop()
			return nil, ""
		case <-wake:
			t.Stop()
			c.wakers.woken.Add(1)
		case <-t.C:
		}
		if raw := c.peekL2(ctx, x); raw != nil {
			return raw, ""
		}
		tok, ok, err := fleet.Lock(ctx, lockKey, c.cfg.LockTTL)
		if err != nil {
			return nil, ""
		}
		if ok {
			// The holder left without a result; look once more (it may have stored and
			// then unlocked between the two calls) before filling.
			if raw := c.peekL2(ctx, x); raw != nil {
				_ = fleet.Unlock(context.WithoutCancel(ctx), lockKey, tok)
				return raw, ""
			}
			return nil, tok
		}
		backoff = min(backoff*2, c.wakers.pollMax())
	}
}

// peekL2 reads the entry x would fill directly from L2 (vary record first when needed), and
// returns it only when it is a fresh entry for x.
func (c *Cache) peekL2(ctx context.Context, x *exchange) []byte {
	l2, _ := c.shared()
	raw, err := l2.Get(ctx, x.lk)
	if err != nil || len(raw) == 0 || c.intents.tombstoned(x.lk) {
		return nil
	}
	vkey, entryKey := x.vkey, x.lk
	if kindOf(raw) == kindVary {
		var v varyRecord
		if decodeVary(raw, &v) != nil || v.key != x.pk {
			return nil
		}
		vk := variantValues(nil, v.fields, x.r)
		vh := c.variantHash(vk)
		if !v.has(vh) {
			return nil
		}
		variantKey := string(c.variantKey(nil, x.k, vh))
		raw, err = l2.Get(ctx, variantKey)
		if err != nil || c.intents.tombstoned(variantKey) {
			return nil
		}
		x.variant, vkey, entryKey = vh, string(vk), variantKey
	}
	if kindOf(raw) != kindEntry {
		return nil
	}
	raw, _, verdict := c.checkL2(ctx, entryKey, raw)
	if verdict != l2OK {
		c.rejectL2(ctx, entryKey, verdict)
		return nil
	}
	var e entry
	if decodeEntry(raw, &e) != nil || e.key != x.pk || e.vkey != vkey ||
		!e.codingFor(x.r) || e.ttl(c.now().UnixNano()) <= 0 {
		return nil
	}
	return raw
}

// extendLock refreshes the fleet lock while the handler runs, so a slow handler keeps it; a
// token mismatch (the lock expired and someone else took it) stops the refresh.
func (c *Cache) extendLock(ctx context.Context, fleet Fleet, key, token string) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(c.cfg.LockTTL / 2)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if ok, err := fleet.Extend(context.WithoutCancel(ctx), key, token, c.cfg.LockTTL); err != nil || !ok {
					return
				}
			}
		}
	}()
	return func() { close(done) }
}
