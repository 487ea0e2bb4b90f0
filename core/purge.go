package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// serveUnsafe passes a request with another method through. A 2xx or 3xx answer to an unsafe
// method invalidates the target URI and the same-origin Location and Content-Location URIs
// (RFC 9111 §4.4) before the status goes out, so the client's next request cannot see the old
// entry.
func (c *Cache) serveUnsafe(w http.ResponseWriter, r *http.Request, next http.Handler, route func(*http.Request) string) {
	start := c.now()
	sw := &statusWriter{ResponseWriter: w, onStatus: func(code int, h http.Header) {
		// RFC 9211 §2: members run from the origin side to the client side, so this cache's
		// member goes after any the handler (an upstream cache) set.
		h.Add("Cache-Status", c.cfg.Name+"; fwd=method")
		if code >= 200 && code < 400 && !isSafe(r.Method) {
			c.invalidate(r, h)
		}
		c.stripTags(h) // surrogate keys are for this cache (and a CDN only when forwarded)
	}}
	next.ServeHTTP(sw, r)
	if sw.status == 0 {
		sw.WriteHeader(http.StatusOK) // net/http answers 200 for a handler that wrote nothing
	}
	if c.cfg.Observer != nil {
		ev := Event{Result: ResultBypass, Reason: ReasonMethod, Status: sw.status, Duration: c.now().Sub(start), Context: r.Context()}
		if route != nil {
			ev.Route = route(r)
		} else {
			ev.Route = muxRoute(r, nil)
		}
		c.cfg.Observer.Request(ev)
	}
}

// invalidate implements RFC 9111 §4.4.
func (c *Cache) invalidate(r *http.Request, h http.Header) {
	ctx := context.WithoutCancel(r.Context())
	p := c.partsOf(r)
	c.purgeURL(ctx, p)
	for _, name := range [...]string{"Location", "Content-Location"} {
		v := h.Get(name)
		if v == "" {
			continue
		}
		u, err := r.URL.Parse(v)
		if err != nil {
			continue
		}
		// §4.4: only when the URI has the same origin (host), to stop denial-of-service attacks.
		if u.Host != "" && !strings.EqualFold(u.Host, p.host) && !strings.EqualFold(u.Host, r.Host) {
			continue
		}
		q := p
		q.path, q.query = u.EscapedPath(), u.RawQuery
		c.purgeURL(ctx, q)
	}
}

// Purge removes every stored variant of an absolute URL ("https://host/path?query") from all
// tiers and, through the invalidation channel, from every instance's L1, then tells the
// Purger. It returns the number of entries removed.
//
// With Config.KeySegments, Purge removes the URL's entries stored without segments (the
// requests for which the hook returned none): it has no request to ask the hook about, and the
// cache keeps no list of the segments a URL was stored under. PurgeWithSegments removes the
// entries of given segments; to reach a URL under every segment at once, tag its answers
// (Surrogate-Key, Policy.Tags) and use PurgeTags, or PurgeAll.
func (c *Cache) Purge(ctx context.Context, rawURL string) (int, error) {
	return c.purge(ctx, rawURL, nil)
}

// PurgeWithSegments is Purge for the entries a request with the given key segments
// (Config.KeySegments) stored: PurgeWithSegments(ctx, "https://api.example.com/v1/plan",
// "tenant-a") removes tenant A's copy of the URL and leaves the other tenants' alone. The
// segments are compared exactly, in order, as the hook returned them; none is Purge. The
// Purger is told the URL alone: a CDN keys without the cache's segments, and purging its
// copy of the URL for everyone is the safe side.
func (c *Cache) PurgeWithSegments(ctx context.Context, rawURL string, segments ...string) (int, error) {
	return c.purge(ctx, rawURL, segments)
}

func (c *Cache) purge(ctx context.Context, rawURL string, segments []string) (int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, fmt.Errorf("core: purge %q: %w", rawURL, err)
	}
	if u.Host == "" {
		return 0, fmt.Errorf("core: purge %q: the URL must be absolute (scheme and host)", rawURL)
	}
	p := keyParts{scheme: strings.ToLower(u.Scheme), host: u.Host, path: u.EscapedPath(), query: u.RawQuery,
		segs: string(appendSegments(nil, segments))}
	if c.cfg.Host != "" {
		p.host = c.cfg.Host
	}
	n := c.purgeURL(ctx, p)
	if c.cfg.Observer != nil {
		c.cfg.Observer.Purge(PurgeKindURL, n)
	}
	if c.cfg.Purger != nil {
		if err := c.cfg.Purger.PurgeURLs(ctx, []string{rawURL}); err != nil {
			c.logErr("purger", "url", err)
			return n, fmt.Errorf("core: purger: %w", err)
		}
	}
	return n, nil
}

// purgeURL removes a URL's entries under both schemes: one resource is often reached over
// http and https (TLS ends at a proxy), and a stale copy under the other must not survive.
func (c *Cache) purgeURL(ctx context.Context, p keyParts) int {
	n := 0
	for _, scheme := range [...]string{"http", "https"} {
		p.scheme = scheme
		n += c.purgeKey(ctx, p)
	}
	return n
}

// purgeKey removes a URL's base key and its variants; it returns how many entries it removed.
func (c *Cache) purgeKey(ctx context.Context, p keyParts) int {
	pk := c.primaryOf(nil, p, nil)
	k := keys{hash: c.hashKey(pk), gen: c.gen.Load()}
	base := string(c.base(nil, k))
	c.fences.bump(k.hash) // before the deletes: a fill in flight will not store (fence.go)
	c.hfm.del(base)
	keys := []string{base}
	found := 0
	raw, _, err := c.get(ctx, base)
	if err == nil && len(raw) > 0 {
		if kindOf(raw) == kindVary {
			var v varyRecord
			if decodeVary(raw, &v) == nil && v.key == string(pk) {
				for _, s := range v.variants {
					keys = append(keys, string(c.variantKey(nil, k, s.hash)))
				}
				found = len(v.variants)
			}
		} else {
			var e entry
			if decodeEntry(raw, &e) == nil && e.key == string(pk) {
				found = 1
			}
		}
	}
	c.l1DeleteURL(ctx, base)
	c.l1Delete(ctx, keys...)
	c.l2Delete(ctx, keys...)
	c.publish(ctx, c.urlMessage(base))
	return found
}

// PurgeTags removes every entry stored under any of the tags (surrogate keys), on every
// instance, without scanning the keyspace: the tag index names the keys. It returns the number
// of entries removed.
func (c *Cache) PurgeTags(ctx context.Context, tags ...string) (int, error) {
	// Fills in flight that will carry one of the tags do not store (fence.go); this
	// instance's late writes of such entries, and every other instance's, go again.
	late := c.tags.purge(tags, time.Now())
	c.l1Delete(ctx, late...)
	c.retract(ctx, late...)
	c.publish(ctx, c.tagsMessage(tags))
	keys, err := c.fleet.TagPurge(ctx, tags...)
	for _, k := range keys {
		c.fences.bumpKey(k, time.Now())
	}
	if err != nil {
		c.storeErr(TierL2, OpTag, err)
		c.intents.addTags(tags) // purged from the fleet's index when it answers again
		err = fmt.Errorf("core: purge tags: %w", err)
	}
	if len(keys) > 0 {
		c.l2Delete(ctx, keys...)
		c.publish(ctx, c.keysMessage(keys))
	}
	if c.fleet != Fleet(c.local) {
		// The fleet's purge changed the tags' stamps (tagstamp.go): a promotion from L2 that
		// read the old ones, here or on another instance, is fenced by a second purge
		// record, and the L1 copies it made go with the second message.
		late = c.tags.purge(tags, time.Now())
		c.l1Delete(ctx, late...)
		c.retract(ctx, late...)
		c.publish(ctx, c.tagsMessage(tags))
	}
	// This instance's L1 copies, which its own index names (the fleet's may have lost them;
	// with the in-process fleet, the purge above took them already).
	own, _ := c.local.TagPurge(ctx, tags...)
	for _, k := range own {
		c.fences.bumpKey(k, time.Now())
	}
	c.l1Delete(ctx, keys...)
	c.l1Delete(ctx, own...)
	n := len(keys)
	if len(own) > 0 {
		seen := make(map[string]struct{}, len(keys))
		for _, k := range keys {
			seen[k] = struct{}{}
		}
		for _, k := range own {
			if _, dup := seen[k]; !dup {
				n++
			}
		}
	}
	if c.cfg.Observer != nil {
		c.cfg.Observer.Purge(PurgeKindTag, n)
	}
	if c.cfg.Purger != nil {
		if perr := c.cfg.Purger.PurgeTags(ctx, tags); perr != nil {
			c.logErr("purger", "tag", perr)
			err = errors.Join(err, fmt.Errorf("core: purger: %w", perr))
		}
	}
	return n, err
}

// PurgeAll makes every stored entry unreachable at once by moving to a new namespace
// generation; old entries expire on their own. Nothing is scanned.
func (c *Cache) PurgeAll(ctx context.Context) error {
	var err error
	n, ferr := c.fleet.NextGeneration(ctx)
	if ferr != nil {
		c.storeErr(TierL2, OpGeneration, ferr)
		c.intents.addNewGen() // moved fleet-wide when the fleet answers again
		err = fmt.Errorf("core: purge all: %w", ferr)
	}
	// Never move backwards: a generation bumped locally while the fleet was unreachable stays.
	if cur := c.gen.Load(); n <= cur {
		n = cur + 1
	}
	c.setGen(n)
	if ferr == nil {
		c.publish(ctx, c.genMessage(n))
	}
	c.local.tags.reset()
	if c.cfg.Observer != nil {
		c.cfg.Observer.Purge(PurgeKindAll, 0)
	}
	if c.cfg.Purger != nil {
		if perr := c.cfg.Purger.PurgeAll(ctx); perr != nil {
			c.logErr("purger", "all", perr)
			err = errors.Join(err, fmt.Errorf("core: purger: %w", perr))
		}
	}
	return err
}
