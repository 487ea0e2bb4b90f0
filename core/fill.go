package core

import (
	"context"
	"net/http"
	"time"
)

// fill runs the handler for a miss or a stale entry, or waits for the request that does.
// With coalesce, concurrent requests for the key x fills wait for one leader (in this
// process, and across the fleet when it is shared). It reports true when x must be looked up
// again: its leader failed, or stored another variant.
func (c *Cache) fill(x *exchange, coalesce bool) (again bool) {
	if !coalesce || x.noStore || x.auth || x.depth > 2 || (c.cfg.HitForMiss > 0 && c.hfm.has(x.lk, c.now().UnixNano())) {
		c.lead(x, nil)
		return false
	}
	cl, leader := c.flights.join(x.lk)
	var slow *call // a leader x waited for too long, whose result still answers x
	for rounds := 0; !leader; rounds++ {
		res, answered := c.follow(x, cl, slow, rounds < maxRejoins)
		if answered {
			return res
		}
		// The leader is slow: one waiter takes over (the others wait for either) instead of
		// all running the handler.
		slow = cl
		cl, leader = c.flights.rejoin(x.lk, cl)
		x.takeover = leader
	}
	// Double-check: the previous leader may have stored the entry between this request's
	// lookup and its join.
	if x.stale == nil {
		if raw, err := c.l1.Get(x.r.Context(), x.lk); err == nil && c.serveStored(x, raw, cl) {
			return false
		}
	}
	c.lead(x, cl)
	return false
}

// maxRejoins bounds the hand-overs a waiter takes part in (each after LockWait) before it
// runs the handler alone.
const maxRejoins = 1

// follow waits for the leader of cl (or of slow, the leader cl took over from, whichever
// finishes first) and answers x with its result; a leader whose answer was not stored or not
// for x leaves x to run the handler alone. The leader is slow once it has filled for
// LockWait (a wait for another instance's fill does not count: that wait is bounded and
// hands over across the fleet). Then answered is false if x may rejoin (and x runs the
// handler alone otherwise). again asks for another lookup.
func (c *Cache) follow(x *exchange, cl, slow *call, mayRejoin bool) (again, answered bool) {
	waitStart := c.now()
	timer := time.NewTimer(c.cfg.LockWait) // a bound in real time, whatever the clock says
	defer timer.Stop()
	var slowDone <-chan struct{} // nil: blocks forever
	if slow != nil {
		slowDone = slow.done
	}
	for {
		select {
		case <-cl.done:
		case <-slowDone:
			cl = slow
		case <-timer.C:
			if cl.fleetWait.Load() {
				timer.Reset(c.cfg.LockWait)
				continue
			}
			if left := c.cfg.LockWait - time.Since(time.Unix(0, cl.filling.Load())); left > 0 {
				timer.Reset(left)
				continue
			}
			c.waited(waitStart, false)
			if mayRejoin {
				return false, false
			}
			c.lead(x, nil) // slow leaders twice over: run the handler ourselves
			return false, true
		case <-x.r.Context().Done():
			return false, true
		}
		return c.followed(x, cl, waitStart), true
	}
}

// followed answers x from the result of the leader it waited for.
func (c *Cache) followed(x *exchange, cl *call, waitStart time.Time) (again bool) {
	res := cl.res
	var e entry
	switch {
	case res.uncacheable || (!res.failed && (res.raw == nil || decodeEntry(res.raw, &e) != nil)):
		c.waited(waitStart, false)
		c.lead(x, nil)
		return false
	case !res.failed && e.key != x.pk:
		// Another request's fill under the same store key (a collision): run alone.
		c.waited(waitStart, false)
		x.collision = true
		c.lead(x, nil)
		return false
	case res.failed || (res.variant != 0 && !c.sameVariant(&e, x.r)):
		// The leader panicked or its client left, or it stored another representation: look
		// again (another waiter may have filled it meanwhile), then take over.
		c.waited(waitStart, false)
		return true
	}
	c.waited(waitStart, true)
	now := c.now().UnixNano()
	cs := cacheStatus{fwd: x.fwd, collapsed: true, ttl: e.ttl(now), hasTTL: true, detail: x.detail("")}
	result := ResultCollapsed
	if res.stale {
		cs = cacheStatus{fwd: "stale", fwdStatus: res.fwdStatus, ttl: e.ttl(now), hasTTL: true, collapsed: true, detail: "stale-if-error"}
		result = ResultStale
	}
	status := c.writeEntry(x.w, x.r, &e, cs, now)
	c.observe(x, &e, result, "", false, status, 0, "")
	return false
}

// filling hands a leader's result to its waiters, once.
type filling struct {
	c    *Cache
	key  string
	cl   *call // nil: nobody waits
	done bool
	res  fillResult // the first result handed over
	set  bool
}

func (f *filling) finish(res fillResult) {
	if !f.set {
		f.res, f.set = res, true
	}
	if f.cl != nil && !f.done {
		f.done = true
		f.c.flights.finish(f.key, f.cl, res)
	}
}

// lead runs the handler for x as the leader of cl (nil: no coalescing), in steps: take the
// fleet's fill lock (or answer from the holder's result), run the origin, then settle the
// answer: serve stale on error, store, respond.
func (c *Cache) lead(x *exchange, cl *call) {
	fin := &filling{c: c, key: x.lk, cl: cl}
	defer fin.finish(fillResult{failed: true})
	if x.background {
		defer func() { c.refreshed(x, fin.res) }()
	}
	release, answered := c.fleetLock(x, fin)
	if answered {
		return
	}
	defer release()
	rec, o := c.runOrigin(x)
	defer rec.release()
	if c.settleFailure(x, fin, rec, o) {
		return
	}
	c.store(x, fin, rec, o)
}

// fleetLock takes the fleet-wide fill lock of x.lk, so that one instance fills while the
// others wait for its result in L2. The in-process fleet grants it with no token (the
// flights coalesce this instance's requests). It reports answered when x is done without
// running the handler (answered from the holder's result or a fresh L2 entry, or gone);
// release ends the lock otherwise.
func (c *Cache) fleetLock(x *exchange, fin *filling) (release func(), answered bool) {
	nothing := func() {}
	_, fleet := c.shared()
	if fin.cl == nil || x.noStore || x.collision {
		return nothing, false
	}
	ctx := x.r.Context()
	lockKey := x.lk + lockSuffix
	if x.takeover {
		lockKey += takeoverSuffix // this instance's holder is slow: take over from it
	}
	token, ok, err := fleet.Lock(ctx, lockKey, c.cfg.LockTTL)
	if err == nil && !ok {
		if x.background {
			return nothing, true // another instance is refreshing it already
		}
		fin.cl.fleetWait.Store(true)
		defer func() {
			fin.cl.filling.Store(time.Now().UnixNano())
			fin.cl.fleetWait.Store(false)
		}()
		var raw []byte
		raw, token = c.awaitFleet(x, fleet, lockKey)
		if raw == nil && token == "" && !x.takeover && ctx.Err() == nil {
			// The holder is slow: one instance of the fleet takes over (the takeover lock),
			// the others wait for it, once more, before they run the handler alone.
			x.takeover = true
			lockKey += takeoverSuffix
			if token, ok, err = fleet.Lock(ctx, lockKey, c.cfg.LockTTL); err == nil && !ok {
				raw, token = c.awaitFleet(x, fleet, lockKey)
			}
		}
		if raw != nil {
			fin.finish(fillResult{raw: raw, variant: x.variant})
			var e entry
			if decodeEntry(raw, &e) == nil {
				now := c.now().UnixNano()
				cs := cacheStatus{fwd: x.fwd, collapsed: true, ttl: e.ttl(now), hasTTL: true}
				c.answer(x, &e, cs, ResultCollapsed, false, 0, TierL2)
				return nothing, true
			}
		}
	}
	if ctx.Err() != nil {
		return nothing, true
	}
	if token == "" {
		return nothing, false // no lock (granted locally, or the fleet unreachable): fill alone
	}
	if x.stale != nil {
		// A refresh or revalidation double-checks across the fleet too: another instance may
		// have refreshed the entry already, while this one still held its own stale copy in
		// L1 (refreshing is then once per fleet, not once per instance).
		var n entry
		if raw := c.peekL2(ctx, x); raw != nil && decodeEntry(raw, &n) == nil && n.storedAt > x.stale.storedAt {
			_ = fleet.Unlock(context.WithoutCancel(ctx), lockKey, token)
			key := string(c.variantKey(nil, x.k, n.variant))
			c.promote(ctx, key, raw, n.tags, func() bool { return c.fenced(x, n.tags) })
			if x.background || c.serveStored(x, raw, nil) {
				fin.finish(fillResult{raw: raw, variant: n.variant})
				return nothing, true
			}
			return nothing, false
		}
	}
	if x.stale == nil {
		// Double-check across the fleet: the previous holder may have stored the entry and
		// released the lock just before this request took it.
		if raw := c.peekL2(ctx, x); raw != nil {
			_ = fleet.Unlock(context.WithoutCancel(ctx), lockKey, token)
			if c.serveStored(x, raw, nil) {
				fin.finish(fillResult{raw: raw, variant: x.variant})
				return nothing, true
			}
			return nothing, false
		}
	}
	stop := c.extendLock(ctx, fleet, lockKey, token)
	return func() {
		stop()
		ctx := context.WithoutCancel(ctx)
		_ = fleet.Unlock(ctx, lockKey, token)
		// The other instances' waiters look again now, not at their next poll.
		_ = fleet.Publish(ctx, []byte(c.filledMessage(x.lk)))
	}, false
}

// originRun is how the handler ran.
type originRun struct {
	panicked bool
	pv       any           // the panic value
	now      time.Time     // when it returned
	took     time.Duration // time in the handler
}

// runOrigin runs the handler for x on a recorder. A 304 that selects no stored response (RFC
// 9111 §4.3.4: another validator, or an answer to an unconditional request) updates nothing:
// the handler runs once more, unconditionally (nothing has reached the client yet).
func (c *Cache) runOrigin(x *exchange) (*recorder, originRun) {
	for refetched := false; ; refetched = true {
		rec := newRecorder(x.w, c.cfg.MaxBodyBytes)
		rec.header = make(http.Header) // only the handler's own fields are stored
		rec.beforeStream = func(h http.Header) {
			if rec.status < 400 {
				x.policy().Apply(h)
			}
			c.stripTags(h)
			h.Add("Cache-Status", c.renderStatus(cacheStatus{fwd: x.fwd, fwdStatus: rec.status, detail: x.detail(string(rec.reason))}))
		}
		r2 := fillRequest(x.r, x.r.Context(), x.stale)
		x.st = stateFrom(r2.Context())
		start := c.now()
		panicked, pv := c.runHandler(x.next, rec, r2)
		rec.handlerReturned(panicked) // late writes fail from here on; trailers go out (trailers.go)
		x.handled = r2
		now := c.now()
		o := originRun{panicked: panicked, pv: pv, now: now, took: now.Sub(start)}
		if refetched || panicked || x.stale == nil || !rec.buffered() || rec.status != http.StatusNotModified ||
			(!x.background && x.r.Context().Err() != nil) || selects304(x.stale, rec.snap) {
			return rec, o
		}
		rec.release()
		x.stale, x.staleRaw = nil, nil
	}
}

// settleFailure answers x when the origin's answer cannot be stored as it is: it failed within
// stale-if-error, panicked, lost its client, streamed, or was cut short. It reports whether
// it did.
func (c *Cache) settleFailure(x *exchange, fin *filling, rec *recorder, o originRun) bool {
	// stale-if-error (RFC 5861 §4): the origin failed (5xx or panic) within the window.
	if x.stale != nil && (o.panicked || (rec.buffered() && rec.status >= 500)) && c.canServeStaleOnError(x.stale, o.now) {
		fs := rec.status
		if o.panicked {
			fs = http.StatusInternalServerError
			c.cfg.Logger.Error("strata: handler panicked; serving stale", "panic", o.pv, "key", x.lk)
		}
		fin.finish(fillResult{raw: x.staleRaw, stale: true, fwdStatus: fs})
		n := o.now.UnixNano()
		cs := cacheStatus{fwd: "stale", fwdStatus: fs, ttl: x.stale.ttl(n), hasTTL: true, detail: "stale-if-error"}
		c.answer(x, x.stale, cs, ResultStale, false, o.took, "")
		return true
	}
	if o.panicked {
		fin.finish(fillResult{failed: true})
		c.observe(x, nil, x.missResult(), ReasonIncomplete, false, http.StatusInternalServerError, o.took, "")
		if x.background {
			c.cfg.Logger.Error("strata: handler panicked during background revalidation", "panic", o.pv, "key", x.lk)
			return true
		}
		panic(o.pv)
	}
	if !x.background && x.r.Context().Err() != nil {
		// The client left: nothing complete to store (§3.1); a waiter takes over.
		c.observe(x, nil, x.missResult(), ReasonIncomplete, false, rec.status, o.took, "")
		return true
	}
	if !rec.buffered() {
		fin.finish(fillResult{uncacheable: true})
		c.markUncacheable(x, o.now)
		if c.cfg.Observer != nil && rec.reason != "" {
			c.cfg.Observer.Store(x.route(), rec.reason, false)
		}
		c.observe(x, nil, x.missResult(), rec.reason, false, rec.status, o.took, "")
		return true
	}
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK) // the handler wrote nothing: an empty 200, as net/http sends
	}
	if rec.incomplete() {
		// RFC 9111 §3.1, §3.4: a body shorter than its declared Content-Length is an incomplete
		// response: not stored, and not handed to the waiters, which run the handler themselves.
		fin.finish(fillResult{uncacheable: true})
		if c.cfg.Observer != nil {
			c.cfg.Observer.Store(x.route(), ReasonIncomplete, false)
		}
		c.writeIncomplete(x, rec)
		c.observe(x, nil, x.missResult(), ReasonIncomplete, false, rec.status, o.took, "")
		return true
	}
	return false
}

// store decides whether the origin's answer is stored (a 304 freshens the stale entry it
// validates), stores it, hands it to the waiters and answers x; an answer that may not be
// stored is sent as it came.
func (c *Cache) store(x *exchange, fin *filling, rec *recorder, o originRun) {
	ctx := x.r.Context()
	var b built
	result, fwdStatus := ResultMiss, 0
	if rec.status == http.StatusNotModified && x.stale != nil {
		// §4.3.4: a 304 to the cache's conditional request freshens the stored response.
		var merged http.Header
		b, merged = c.freshen(x, rec.snap, o.now, o.took)
		result, fwdStatus = ResultRevalidated, http.StatusNotModified
		b = c.unlessFenced(x, b)
		if b.raw == nil {
			// The freshened response may not be stored (no-store, private, no freshness…):
			// the client still gets all of it, a 304 only if its own preconditions match
			// (never the 304 the cache's request asked for), and the stale entry goes.
			c.drop(ctx, x.lk)
			rec.status, rec.snap = x.stale.status, merged
			rec.buf = append(rec.buf[:0], x.stale.body...)
		}
	} else {
		b = c.unlessFenced(x, c.build(x, rec.status, rec.snap, rec.buf, o.now, o.took))
	}
	if b.raw == nil {
		if b.reason == ReasonInvalidated {
			fin.finish(fillResult{failed: true}) // the waiters look again, and one fills
		} else {
			fin.finish(fillResult{uncacheable: true})
		}
		if b.reason != ReasonStatus && b.reason != ReasonInvalidated {
			c.markUncacheable(x, o.now)
		}
		if c.cfg.Observer != nil {
			c.cfg.Observer.Store(x.route(), b.reason, false)
		}
		c.writeBuffered(x, rec, b.reason)
		c.observe(x, nil, x.missResult(), b.reason, false, rec.status, o.took, "")
		return
	}
	c.hfm.del(x.lk)
	c.due.del(x.lk)
	c.save(ctx, x, &b)
	if c.fenced(x, b.e.tags) {
		c.l1Delete(ctx, b.key) // a purge came between the check above and the write
	}
	fin.finish(fillResult{raw: b.raw, variant: b.e.variant})
	n := o.now.UnixNano()
	cs := cacheStatus{fwd: x.fwd, fwdStatus: fwdStatus, stored: true, ttl: b.e.ttl(n), hasTTL: true, detail: x.detail("")}
	if c.cfg.Debug {
		cs.key = b.key
	}
	if !x.background {
		// Fields kept out of the entry (private="…", no-cache="…") still reach the client
		// whose request produced them.
		for _, name := range b.strip {
			if v := rec.snap.Values(name); len(v) > 0 {
				x.w.Header()[http.CanonicalHeaderKey(name)] = v
			}
		}
	}
	c.answer(x, &b.e, cs, result, true, o.took, "")
	if !c.fenced(x, b.e.tags) {
		if l2, _ := c.shared(); l2 != Tier(noTier{}) {
			c.fences.writing(x.k.hash, time.Now())
			c.tags.writing(b.key, b.e.tags, time.Now())
		}
		c.saveShared(ctx, x, &b)
		if c.fenced(x, b.e.tags) {
			c.retract(ctx, b.key)
		}
	}
}

// unlessFenced drops a built entry whose key was purged while the handler ran: the answer may
// be what the purge removed (the handler read the data before the change). It is served, not
// stored.
func (c *Cache) unlessFenced(x *exchange, b built) built {
	if b.raw != nil && c.fenced(x, b.e.tags) {
		return built{reason: ReasonInvalidated}
	}
	return b
}
