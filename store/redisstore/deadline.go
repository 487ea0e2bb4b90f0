package redisstore

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// deadlines bounds calls by the store's Timeout without a context.WithTimeout per call (a
// timer, a channel, a context and a registration with the caller's context: five
// allocations on the hit path). Calls that begin within one tick, a sixteenth of the
// Timeout, share one deadline: one channel and one timer that closes it. A call begun at t
// is bounded at its tick's deadline, in (t+Timeout, t+Timeout+tick]; its context costs one
// small allocation.
type deadlines struct {
	timeout, tick time.Duration

	mu  sync.Mutex // held to replace cur
	cur atomic.Pointer[deadline]
}

// deadline is one tick's shared deadline.
type deadline struct {
	until int64         // calls begun before this (Unix ns) use this deadline
	at    time.Time     // the deadline
	done  chan struct{} // closed at at
}

func newDeadlines(timeout time.Duration) *deadlines {
	return &deadlines{timeout: timeout, tick: max(timeout/16, time.Microsecond)}
}

// at returns the deadline of a call beginning at now.
func (d *deadlines) at(now time.Time) *deadline {
	n := now.UnixNano()
	if e := d.cur.Load(); e != nil && n < e.until {
		return e
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.cur.Load(); e != nil && n < e.until {
		return e
	}
	e := &deadline{until: n + int64(d.tick), at: now.Add(d.tick + d.timeout), done: make(chan struct{})}
	time.AfterFunc(d.tick+d.timeout, func() { close(e.done) })
	d.cur.Store(e)
	return e
}

// withDeadline returns ctx bounded by the shared deadline of a call beginning now. When
// ctx has a deadline of its own before it, it falls back to context.WithTimeout (cancel is
// then non-nil), so that the earlier bound holds exactly.
func (d *deadlines) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	now := time.Now()
	e := d.at(now)
	if t, ok := ctx.Deadline(); ok && t.Before(e.at) {
		return context.WithTimeout(ctx, d.timeout)
	}
	return &callCtx{ctx, e}, nil
}

// callCtx is the caller's context bounded by a shared deadline: the caller's values, the
// shared deadline (never later than the caller's, see withDeadline), and Done and Err of
// that deadline. A caller's cancellation does not close Done: go-redis watches Done only
// while it waits for a pooled connection or between retries, which then end at the
// deadline at the latest, and the store reads the caller's own Err when the call returns
// (end), so a canceled call is still reported as the caller's.
type callCtx struct {
	context.Context
	d *deadline
}

func (c *callCtx) Deadline() (time.Time, bool) { return c.d.at, true }

func (c *callCtx) Done() <-chan struct{} { return c.d.done }

func (c *callCtx) Err() error {
	select {
	case <-c.d.done:
		if err := c.Context.Err(); err != nil {
			return err
		}
		return context.DeadlineExceeded
	default:
		return nil
	}
}
