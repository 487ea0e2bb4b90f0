package core

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/strata-cache/strata/etag"
	"github.com/strata-cache/strata/headers"
)

// built is an entry ready to store, and what is still to be written to L2 after the client
// has its answer.
type built struct {
	raw     []byte
	e       entry
	key     string
	ttl     time.Duration
	vary    []byte        // encoded vary record to write at base, if any
	varyTTL time.Duration // its lifetime: as long as its longest-lived variant
	evict   []string      // variant keys the vary record let go (full, expired, or another field set)
	ignore  []byte        // encoded record of a route's ignored query parameters, if any
	strip   []string
	tags    []string
	reason  Reason
}

// policy returns the route policy recorded for the request.
func (x *exchange) policy() headers.Policy {
	if x.st != nil && x.st.hasPolicy {
		return x.st.policy
	}
	return headers.Policy{}
}

// build decides whether a complete response is stored and encodes it. h is a header map the
// cache owns (the snapshot); it is completed in place with the policy's fields, the ETag, the
// sniffed Content-Type and the safe Vary fields, so the client sees what is stored.
func (c *Cache) build(x *exchange, status int, h http.Header, body []byte, now time.Time, origin time.Duration) (b built) {
	pol := x.policy()
	if status < 400 {
		// The route policy describes the route's representations; error answers are
		// governed by the negative-caching rules instead.
		pol.Apply(h)
	}
	if b.reason = c.refused(x, status, pol); b.reason != ReasonNone {
		return b
	}
	f := c.freshnessOf(x, status, h, pol, origin, now)
	if f.reason != ReasonNone {
		b.reason = f.reason
		return b
	}
	fields := c.varyOf(x, h)
	completeFields(h, status, body, !c.cfg.DisableAutoETag)
	b.ignore = c.rekeyForPolicy(x, pol)

	// Variant selection (RFC 9111 §4.1) and the per-URL cap.
	variant, key := uint64(0), x.base
	var vkey []byte
	if len(fields) > 0 {
		if len(fields) > maxVaryFields {
			b.reason = ReasonVariants
			return b
		}
		vkey = variantValues(nil, fields, x.r)
		variant = c.variantHash(vkey)
		key = string(c.variantKey(nil, x.k, variant))
	}
	e := c.newEntry(x, status, h, body, &f, pol, variant, string(vkey), now, origin)
	if f.noCache && ((e.etag == "" && e.lastMod == 0) || c.cfg.Keep <= 0) {
		// A no-cache entry is only ever used after a revalidation (decide): without a
		// validator, or with stale entries not kept (Config.Keep), storing it gains nothing.
		b.reason = ReasonNoCache
		return b
	}
	life := c.lifetime(&e, &f)
	e.expires = now.Add(life).UnixNano()
	if len(fields) > 0 {
		b.vary, b.varyTTL, b.evict = c.nextVaryRecord(x, fields, variant, e.expires, now)
	}
	b.raw = e.encode(make([]byte, 0, e.size()))
	if len(b.raw) > c.cfg.MaxEntryBytes { // the same bound for every tier
		return built{reason: ReasonTooLarge}
	}
	if decodeEntry(b.raw, &b.e) != nil { // b.e aliases raw, which outlives the recorder's buffer
		b.reason = ReasonStatus
		b.raw = nil
		return b
	}
	b.key, b.ttl, b.tags, b.strip = key, life, b.e.tags, f.strip
	c.stripTags(h)
	return b
}

// refused reports why the request or the route keeps any answer out of the cache: the
// request's no-store, a store key holding another request's entry, or an error answer on a
// private or no-store route (it may be one user's).
func (c *Cache) refused(x *exchange, status int, pol headers.Policy) Reason {
	switch {
	case x.noStore:
		return ReasonNoStore
	case x.collision:
		return ReasonCollision
	case status >= 400 && x.st != nil && x.st.hasPolicy:
		if pcc := headers.ParseCacheControl([]string{pol.CacheControl()}); pcc.NoStore {
			return ReasonNoStore
		} else if pcc.Private {
			return ReasonPrivate
		}
	}
	return ReasonNone
}

// freshnessOf runs the storability and freshness rules (decide) and applies the operator's
// default stale-if-error window.
func (c *Cache) freshnessOf(x *exchange, status int, h http.Header, pol headers.Policy, origin time.Duration, now time.Time) freshness {
	// Negative caching (storing an error without explicit freshness) needs a route policy,
	// or the application's word that it is safe everywhere (negative.Rules.AllRoutes).
	negOK := (x.st != nil && x.st.hasPolicy) || c.cfg.Negative.AllRoutes
	f := decide(status, c.decisionHeader(h), x.auth, c.cfg.Negative, negOK, pol.NegTTL(), origin, now,
		heuristic{fraction: c.cfg.HeuristicFreshness, max: c.cfg.HeuristicMax})
	if f.reason == ReasonNone && c.cfg.StaleIfError > 0 && !f.sieSet && !f.noStale && !f.sMaxAge {
		// RFC 9111 §4.2.4: the operator's leave to serve stale when the origin fails, for a
		// response that neither forbids it nor sets its own window.
		f.sie = c.cfg.StaleIfError
	}
	return f
}

// varyOf returns the request fields the stored answer varies on, sorted, and says so in its
// Vary: the response's own, the URL's other variants' (so they stay reachable), and the
// safe ones it forgot (an encoded body varies on Accept-Encoding, a CORS answer for one
// origin on Origin, and every answer on the trusted fields).
func (c *Cache) varyOf(x *exchange, h http.Header) []string {
	fields, _ := varyFields(h)
	if len(fields) == 0 && x.vrec != nil {
		fields = slices.Clone(x.vrec.fields)
		headers.MergeVary(h, fields...)
	}
	add := func(name string) {
		if !slices.Contains(fields, name) {
			fields = append(fields, name)
			headers.MergeVary(h, name)
		}
	}
	if len(h["Content-Encoding"]) > 0 {
		add("Accept-Encoding")
	}
	for _, f := range c.implicitVary {
		add(f)
	}
	if o := h.Get("Access-Control-Allow-Origin"); o != "" && o != "*" {
		add("Origin")
	}
	slices.Sort(fields)
	return fields
}

// completeFields adds what net/http would send (Content-Type) and, for a 200 without one, a
// strong ETag of the body.
func completeFields(h http.Header, status int, body []byte, autoETag bool) {
	if len(body) > 0 && len(h["Content-Type"]) == 0 {
		h["Content-Type"] = []string{http.DetectContentType(body)}
	}
	if autoETag && h.Get("Etag") == "" && status == http.StatusOK {
		h["Etag"] = []string{etag.Strong(body)}
	}
}

// rekeyForPolicy moves x to the key without the query parameters its route's policy ignores
// (known only once the handler ran), and returns the record of those parameters to store
// under the query-less key, so that lookups find it (see rekey). The fill is fenced from
// then on under its new key.
func (c *Cache) rekeyForPolicy(x *exchange, pol headers.Policy) []byte {
	ign := pol.IgnoredQuery()
	if len(ign) == 0 || x.rekeyed || x.r.URL.RawQuery == "" {
		return nil
	}
	p := c.primary(nil, x.r, ign)
	x.pk = string(p)
	x.k = keys{hash: c.hashKey(p), gen: x.k.gen}
	x.base, x.vrec, x.rekeyed = string(c.base(nil, x.k)), nil, true
	x.fence = c.fences.load(x.k.hash)
	return encodeIgnore(string(c.queryless(x.r)), ign)
}

// newEntry builds the entry of an answer: its freshness, keys, validators, tags and fields.
func (c *Cache) newEntry(x *exchange, status int, h http.Header, body []byte, f *freshness, pol headers.Policy,
	variant uint64, vkey string, now time.Time, origin time.Duration) entry {
	e := entry{
		status:    status,
		storedAt:  now.UnixNano(),
		initAge:   int64(f.initAge),
		fresh:     int64(f.fresh),
		swr:       int64(f.swr),
		sie:       int64(f.sie),
		recompute: int64(origin),
		variant:   variant,
		key:       x.pk,
		vkey:      vkey,
		etag:      h.Get("Etag"),
	}
	if f.noStale {
		e.flags |= flagNoStale
	}
	if f.negative {
		e.flags |= flagNegative
	}
	if f.sMaxAge {
		e.flags |= flagSMaxAge
	}
	if v := h.Get("Last-Modified"); v != "" {
		if lm, err := http.ParseTime(v); err == nil {
			e.lastMod = lm.Unix()
		}
	}
	e.route = x.route()
	e.tags = pol.TagsFor(x.r)
	e.tags = append(e.tags, headers.ParseSurrogateKey(h["Surrogate-Key"])...)
	e.tags = append(e.tags, headers.ParseSurrogateKey(h["Cache-Tag"])...)
	slices.Sort(e.tags)
	e.tags = slices.Compact(e.tags)
	e.fields = fieldsFrom(h, f.strip)
	e.body = body
	return e
}

// lifetime is how long the tiers keep an entry: its freshness and stale windows, Keep for
// one with a validator, and jitter; at least a second.
func (c *Cache) lifetime(e *entry, f *freshness) time.Duration {
	life := time.Duration(e.fresh-e.initAge) + max(f.swr, f.sie)
	if f.noCache {
		life = 0 // kept for Keep, to be revalidated
	}
	if c.cfg.Keep > 0 && (e.etag != "" || e.lastMod != 0) {
		// Keep entries with a validator a while after they go stale, for a conditional
		// revalidation (RFC 9111 §4.3) instead of a full fetch.
		life += c.cfg.Keep
	}
	if c.cfg.Jitter > 0 {
		life += time.Duration(float64(life) * c.cfg.Jitter * c.cfg.Rand())
	}
	return max(life, time.Second)
}

// save writes a built entry to L1 now; L2, the vary record and the tag index follow in
// saveShared, after the client has its answer.
func (c *Cache) save(ctx context.Context, x *exchange, b *built) {
	c.l1Set(ctx, b.key, b.raw, b.ttl)
	if b.vary != nil {
		c.l1Set(ctx, x.base, b.vary, b.varyTTL)
	}
	c.l1Delete(ctx, b.evict...)
	if b.ignore != nil {
		c.l1Set(ctx, c.ignoreKey(c.queryless(x.r)), b.ignore, b.ttl)
	}
	// The local index follows the L1, with a fleet too: a purge by tag deletes the L1
	// copies it names even when the fleet's index lost them (tagstamp.go).
	_ = c.local.TagAdd(ctx, b.tags, b.key, b.ttl)
	if c.cfg.Observer != nil {
		c.cfg.Observer.Store(b.e.route, ReasonNone, true)
	}
}

// saveShared writes a built entry to the shared tier and its tags to the shared fleet (both
// none before this instance has the fleet's key secret).
func (c *Cache) saveShared(ctx context.Context, x *exchange, b *built) {
	ctx = context.WithoutCancel(ctx)
	_, f := c.shared()
	raw, indexed, ok := c.stampedCopy(ctx, f, b)
	if ok && c.mac != nil {
		raw = c.mac.seal(b.key, raw)
	}
	if ok {
		c.l2Set(ctx, b.key, raw, b.ttl)
	}
	if b.vary != nil {
		c.l2Set(ctx, x.base, b.vary, b.varyTTL)
	}
	c.l2Delete(ctx, b.evict...)
	if b.ignore != nil {
		c.l2Set(ctx, c.ignoreKey(c.queryless(x.r)), b.ignore, b.ttl)
	}
	if len(b.tags) > 0 && f != Fleet(c.local) && !indexed { // else indexed by save or stampedCopy
		// The tag sets outlive their entries a little, so a purge always finds them.
		if err := f.TagAdd(ctx, b.tags, b.key, b.ttl+time.Minute); err != nil {
			c.storeErr(TierL2, OpTag, err)
		}
	}
}

// freshen merges a 304's fields into the stale entry (RFC 9111 §4.3.4: replace the stored
// fields with those in the 304, except the ones that describe the body) and rebuilds it. It
// also returns the merged fields (completed as build completes a fill's), which the client
// gets when the result may not be stored.
func (c *Cache) freshen(x *exchange, snap http.Header, now time.Time, origin time.Duration) (built, http.Header) {
	old := x.stale
	h := make(http.Header, len(old.fields)+4)
	for _, f := range old.fields {
		h[f.name] = append(h[f.name], f.value)
	}
	for k, v := range snap {
		switch k {
		case "Content-Length", "Content-Encoding", "Content-Range", "Transfer-Encoding":
			continue
		}
		h[k] = v
	}
	b := c.build(x, old.status, h, old.body, now, origin) // completes h in place, as for a 200
	return b, h
}

// selects304 reports whether a 304 answering the cache's revalidation of stale selects it
// (RFC 9111 §4.3.4): the cache's request was conditional (stale has a validator), and the
// 304's own validator, when it sends one, is stale's: a strong ETag equal to it, a weak one
// matching it weakly, or the same Last-Modified. A 304 without a validator selects the one
// stored response it answers (lenient: RFC 9110 §15.4.5 asks for the ETag, not every
// origin sends it).
func selects304(stale *entry, h http.Header) bool {
	if stale.etag == "" && stale.lastMod == 0 {
		return false // the request was unconditional: no 304 could answer it
	}
	if et := h.Get("Etag"); et != "" {
		if strings.HasPrefix(et, "W/") || strings.HasPrefix(stale.etag, "W/") {
			return strings.TrimPrefix(et, "W/") == strings.TrimPrefix(stale.etag, "W/")
		}
		return et == stale.etag
	}
	if lm := h.Get("Last-Modified"); lm != "" && stale.lastMod != 0 {
		t, err := http.ParseTime(lm)
		return err == nil && t.Unix() == stale.lastMod
	}
	return true
}

// The ignored-parameters record of a path: kind 'Q', version, the query-less primary key it
// belongs to (verified on read), then the names joined by '&'.

func encodeIgnore(pk string, names []string) []byte {
	b := append([]byte{byte(kindIgnore), entryVersion}, pk...)
	b = append(b, 0)
	return append(b, strings.Join(names, "&")...)
}

// queryless is the primary key of r's path without its query.
func (c *Cache) queryless(r *http.Request) []byte {
	p := c.partsOf(r)
	p.query = ""
	return c.primaryOf(nil, p, nil)
}

// ignoreKey is the key of a path's ignored-parameters record: the query-less primary key
// with a suffix of its own.
func (c *Cache) ignoreKey(pk []byte) string {
	b := c.base(nil, keys{hash: c.hashKey(pk), gen: c.gen.Load()})
	return string(append(b, ":q"...))
}

// routeIgnore returns the query parameters a route policy left out of the request path's keys.
func (c *Cache) routeIgnore(ctx context.Context, r *http.Request) []string {
	pk := c.queryless(r)
	key := c.ignoreKey(pk)
	raw, _, err := c.get(ctx, key)
	if err != nil {
		return nil
	}
	if kindOf(raw) != kindIgnore {
		c.drop(ctx, key)
		return nil
	}
	got, names, ok := strings.Cut(string(raw[2:]), "\x00")
	if !ok || got != string(pk) || names == "" {
		return nil
	}
	return strings.Split(names, "&")
}

// nextVaryRecord returns the URL's vary record with variant (expiring at expires) added, the
// record's lifetime (that of its longest-lived variant), and the variant keys it let go: the
// previous record's variants when the field set changed (they can no longer be selected),
// expired ones, and, when the record is full (Config.MaxVariants), the variant that expires
// first, so that junk values never lock a real one out.
func (c *Cache) nextVaryRecord(x *exchange, fields []string, variant uint64, expires int64, now time.Time) (rec []byte, ttl time.Duration, evict []string) {
	v := varyRecord{key: x.pk, fields: fields}
	n := now.UnixNano()
	if x.vrec != nil {
		same := slices.Equal(x.vrec.fields, fields)
		for _, s := range x.vrec.variants {
			switch {
			case s.hash == variant:
				// stored again below, with its new expiry
			case same && s.expires > n:
				v.variants = append(v.variants, s)
			default:
				evict = append(evict, string(c.variantKey(nil, x.k, s.hash)))
			}
		}
	}
	for len(v.variants) >= c.cfg.MaxVariants && len(v.variants) > 0 {
		oldest := 0
		for i, s := range v.variants {
			if s.expires < v.variants[oldest].expires {
				oldest = i
			}
		}
		evict = append(evict, string(c.variantKey(nil, x.k, v.variants[oldest].hash)))
		v.variants = slices.Delete(v.variants, oldest, oldest+1)
	}
	v.variants = append(v.variants, variantSlot{hash: variant, expires: expires})
	last := expires
	for _, s := range v.variants {
		last = max(last, s.expires)
	}
	return v.encode(nil), max(time.Duration(last-n), time.Second), evict
}
