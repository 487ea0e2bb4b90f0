package core

import (
	"context"
	"errors"
	"sync"
	"time"
)

// l2reads coalesces concurrent L2 reads of one key in this process (singleflight.Group
// for one result type): the first caller reads, the others wait and share its result, which
// is read-only. A read costs one allocation, the l2read, which holds the leader's detached
// context as well; singleflight would add the boxing of the result and context.WithoutCancel.
type l2reads struct {
	mu sync.Mutex
	m  map[string]*l2read
}

// l2read is one read in progress. raw and err are set before wg is done, and never after.
type l2read struct {
	wg      sync.WaitGroup
	ctx     detached
	raw     []byte
	err     error
	waiters int // callers sharing it (under l2reads.mu)
}

// errL2ReadAborted is what the callers waiting for a read get when it panicked (the panic
// goes on in the caller that read; each waiter then treats the key as a tier failure, a miss).
var errL2ReadAborted = errors.New("core: shared L2 read aborted")

// do calls read once for the concurrent callers of key, with the first caller's context
// without its cancellation (a client that leaves does not fail the others' read; the tier
// bounds it in time), and returns its result to each of them.
func (g *l2reads) do(ctx context.Context, key string, read func(context.Context) ([]byte, error)) ([]byte, error) {
	g.mu.Lock()
	if r := g.m[key]; r != nil {
		r.waiters++
		g.mu.Unlock()
		r.wg.Wait()
		return r.raw, r.err
	}
	if g.m == nil {
		g.m = make(map[string]*l2read)
	}
	r := &l2read{ctx: detached{ctx}, err: errL2ReadAborted}
	r.wg.Add(1)
	g.m[key] = r
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.m, key)
		g.mu.Unlock()
		r.wg.Done()
	}()
	raw, err := read(&r.ctx)
	r.raw, r.err = raw, err
	return raw, err
}

// detached is context.WithoutCancel(parent), for embedding (context.WithoutCancel allocates
// its own): parent's values, no deadline, never done.
type detached struct{ parent context.Context }

func (*detached) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*detached) Done() <-chan struct{}       { return nil }
func (*detached) Err() error                  { return nil }
func (d *detached) Value(key any) any         { return d.parent.Value(key) }
