package core

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// revalidateAfter refreshes an entry once the client has its answer (RFC 5861 §3: the cache
// revalidates "asynchronously"; also XFetch early refresh, e being a fresh entry and raw nil).
// Concurrent refreshes of one key are coalesced: only the first runs. Where it runs depends
// on whether the answer reached the client:
//
//   - Flushed: on this goroutine, with a context detached from the client and bounded by
//     RevalidateTimeout. Request-scoped state that routers pool (chi's route context, gin's
//     and echo's contexts) stays valid, since the handler chain has not returned yet, and no
//     goroutine is started. On HTTP/1.1 keep-alive, the connection's next request waits.
//   - Not flushed (an outer middleware's writer cannot flush, so the answer only leaves when
//     this handler returns), and the handler may run detached (HandlerOptions.Detach): on a
//     goroutine of its own, with a request the cache owns (see detachedRequest).
//   - Not flushed, and the handler may not run detached: not now. The answer returns at once;
//     for a stale entry the key is marked, and its next request revalidates in the
//     foreground (an early refresh of a fresh entry is simply skipped: a later hit or the
//     expiry refreshes it).
func (c *Cache) revalidateAfter(x *exchange, e *entry, raw []byte) {
	if c.backoff.has(x.lk, c.now().UnixNano()) {
		return // its last refresh failed: stale answers go on without one for a while
	}
	cl, ok := c.flights.tryLead(x.lk)
	if !ok {
		return
	}
	bg := *x
	bg.w, bg.background = nil, true
	bg.stale, bg.staleRaw = e, raw
	bg.fwd = "stale"
	if http.NewResponseController(x.w).Flush() == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(x.r.Context()), c.cfg.RevalidateTimeout)
		defer cancel()
		bg.r = x.r.WithContext(ctx)
		bg.start = c.now()
		c.lead(&bg, cl)
		return
	}
	if x.detach == nil || !c.refreshes.start() {
		c.flights.finish(x.lk, cl, fillResult{failed: true})
		if raw != nil {
			// Marked until the stale-while-revalidate window closes at the latest; past it the
			// next request revalidates in the foreground anyway.
			c.due.set(x.lk, c.now().Add(time.Duration(e.swr)).UnixNano())
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(x.r.Context()), c.cfg.RevalidateTimeout)
	stop := context.AfterFunc(c.refreshes.ctx, cancel) // Close cancels it
	bg.r = x.detach(detachedRequest(x.r, ctx))
	go func() {
		defer c.refreshes.end()
		defer cancel()
		defer stop()
		bg.start = c.now()
		c.lead(&bg, cl)
	}()
}

// detachedRequest is a copy of r that the cache owns, for a refresh that outlives r: a deep
// copy (URL, header, path values; method, Host, RequestURI, RemoteAddr and TLS as they were)
// carrying ctx, with a policy state of its own and no body (the cache looks up only GET and
// HEAD requests without one). Nothing in it is reused once r returns.
func detachedRequest(r *http.Request, ctx context.Context) *http.Request {
	if st := stateFrom(ctx); st != nil {
		own := *st
		ctx = context.WithValue(ctx, ctxKey{}, &own)
	}
	r2 := r.Clone(ctx)
	r2.Body, r2.GetBody, r2.ContentLength = http.NoBody, nil, 0
	return r2
}

// WaitRefreshes waits until the background refreshes that run on goroutines of their own
// (stale answers that could not be flushed, see HandlerOptions.Detach) have returned, or ctx
// is done. A refresh started before the call is stored when it returns nil. Close waits for
// them too.
func (c *Cache) WaitRefreshes(ctx context.Context) error {
	return c.refreshes.wait(ctx)
}

// refreshes counts the background refreshes running on goroutines of their own, so that
// WaitRefreshes and Close can wait for them; close also cancels them and refuses new ones.
type refreshes struct {
	ctx    context.Context // the refreshes' parent for cancellation; done once closed
	cancel context.CancelFunc

	mu     sync.Mutex
	n      int
	idle   chan struct{} // closed while n == 0
	closed bool
}

func (r *refreshes) init() {
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.idle = make(chan struct{})
	close(r.idle)
}

// start counts a refresh in; it reports false once closed.
func (r *refreshes) start() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	if r.n == 0 {
		r.idle = make(chan struct{})
	}
	r.n++
	return true
}

func (r *refreshes) end() {
	r.mu.Lock()
	r.n--
	if r.n == 0 {
		close(r.idle)
	}
	r.mu.Unlock()
}

func (r *refreshes) wait(ctx context.Context) error {
	r.mu.Lock()
	idle := r.idle
	r.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close refuses new refreshes, cancels the running ones and waits for them to return (a
// handler that ignores its context is waited for).
func (r *refreshes) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	_ = r.wait(context.Background())
}

// refreshBackoff is how long after a failed background refresh (the origin erred, panicked
// or answered what cannot be stored) stale answers of the key start no other: a failing origin
// gets one refresh per key and period, not one per stale answer.
const refreshBackoff = 2 * time.Second

// refreshed records how a background refresh ended: a failure backs the key off.
func (c *Cache) refreshed(x *exchange, res fillResult) {
	if res.failed || res.uncacheable || res.stale {
		c.backoff.set(x.lk, c.now().Add(refreshBackoff).UnixNano())
		return
	}
	c.backoff.del(x.lk)
}
