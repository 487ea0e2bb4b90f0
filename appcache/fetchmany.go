package appcache

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// BatchLoader loads the values of several keys from the source of truth in one call (one
// query with an IN list, one RPC); it is given them in the order FetchMany was. A key it leaves out of the map has no value: FetchMany
// caches its absence as a loader's ErrNotFound does. An error fails every key of the call
// (ErrNotFound, or an error wrapping it, caches them all as absent).
type BatchLoader[T any] func(ctx context.Context, keys []string) (map[string]T, error)

// BatchGetter is an optional interface of an L2 that reads several keys in one round trip
// (redisstore.Store has it: one pipeline of GETs). FetchMany uses it, when the L2 has it, for the keys that missed the L1; without
// it, each key's fill reads the L2 on its own, all of them concurrently.
type BatchGetter interface {
	// GetMany returns the values of keys in their order, nil for a key with no value. An error
	// is a tier failure (the keys are then read one by one).
	GetMany(ctx context.Context, keys []string) ([][]byte, error)
}

// FetchMany is the batch form of Fetch: it returns the values of keys (each key once, however
// often it is listed) from the L1, else the L2, else loader, called once with the keys
// nothing could answer. Every step of Fetch applies to each key:
//
//   - a key another Fetch or FetchMany of this instance is already loading is not loaded
//     again: this call waits for that load (and a Fetch of a key this call is loading waits
//     for this call's);
//   - across the fleet, each key's fill lock is taken; keys another instance holds are waited
//     for as Fetch does, and loaded (alone, with a one-key batch) only by a takeover;
//   - the key's versions are read before loader runs, so a value loaded before an
//     Invalidate, Set or InvalidateTags of its key is not stored (see the package
//     documentation);
//   - TTL jitter, XFetch and stale-while-revalidate refreshes (one-key batches), tags and the
//     observer's Hit, Miss and Load events are per key.
//
// Keys with no value are left out of the returned map: those loader left out of its map, or
// for which it returned ErrNotFound, and those whose absence is cached. Their absence is cached
// for Options.NegativeTTL like a Fetch's ErrNotFound: a FetchMany or Fetch of such a key within
// that time does not call the loader, and Fetch returns ErrNotFound. The values loader returns
// for keys it was not asked for are ignored.
//
// A key whose load failed with another error is left out of the map too, and not cached; the
// error returned joins the distinct failures, alongside the values of the other keys. A caller
// whose ctx ends gets the values found so far and ctx.Err(); the loads go on, as Fetch's do.
//
// Stats.Loads and Observer.Load count each key of a batch as one load, with the batch's
// duration.
func (c *Cache[T]) FetchMany(ctx context.Context, keys []string, loader BatchLoader[T], opts ...FetchOption) (map[string]T, error) {
	out := make(map[string]T, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	if c.isClosed() {
		return out, ErrClosed
	}
	co := collectOpts(opts)
	seen := make(map[string]struct{}, len(keys))
	var missed []*call[T]
	for _, k := range keys {
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		cl := &call[T]{key: k, vk: c.valueKey(k), many: loader, opts: co}
		if b, err := c.l1.Get(ctx, cl.vk); err == nil {
			if v, err, ok := c.hit(cl, b, L1); ok {
				if err == nil {
					out[k] = v
				}
				continue
			}
		}
		missed = append(missed, cl)
	}
	if len(missed) == 0 {
		return out, nil
	}

	c.c.misses.Add(int64(len(missed)))
	vks := make([]string, len(missed))
	for i, cl := range missed {
		vks[i] = cl.vk
		if c.o.Observer != nil {
			c.o.Observer.Miss(cl.key)
		}
	}
	fs, owned := c.flight.joinAll(vks)
	var mine []*call[T]
	var myFlights []*flight[T]
	for i, o := range owned {
		if o {
			mine = append(mine, missed[i])
			myFlights = append(myFlights, fs[i])
		}
	}
	if len(mine) > 0 {
		go c.fillMany(ctx, mine, myFlights, loader)
	}

	var errs []error
	msgs := make(map[string]struct{})
	for i, f := range fs {
		select {
		case <-f.done:
		case <-ctx.Done():
			return out, ctx.Err()
		}
		switch err := f.res.err; {
		case err == nil:
			out[missed[i].key] = f.res.v
		case errors.Is(err, ErrNotFound):
		default:
			if _, dup := msgs[err.Error()]; !dup {
				msgs[err.Error()] = struct{}{}
				errs = append(errs, err)
			}
		}
	}
	return out, errors.Join(errs...)
}

// fillMany fills the keys this FetchMany owns (finishing each one's flight): the L2 in one
// batch when it is a BatchGetter, then one fill per key, concurrently, whose loads meet in
// calls of loader (see batch).
func (c *Cache[T]) fillMany(ctx context.Context, cls []*call[T], fs []*flight[T], loader BatchLoader[T]) {
	if bg, ok := c.l2.(BatchGetter); ok && len(cls) > 1 {
		cls, fs = c.fromL2Many(ctx, bg, cls, fs)
	}
	b := &batch[T]{load: loader, open: make(map[string]struct{}, len(cls)), order: make(map[string]int, len(cls))}
	for i, cl := range cls {
		b.open[cl.key] = struct{}{}
		b.order[cl.key] = i
	}
	for i, cl := range cls {
		cl.loader = b.loader(cl.key)
		cl.onWait = func() { b.settle(cl.key) }
		go func() {
			c.flight.finish(cl.vk, fs[i], c.fill(ctx, cl))
			b.settle(cl.key)
		}()
	}
}

// fromL2Many reads the keys from the L2 in one call, answers those it holds (as fromL2 does,
// each copied into the L1 unless its local version moved since before the read) and returns
// the others, marked to skip their own L2 read.
func (c *Cache[T]) fromL2Many(ctx context.Context, bg BatchGetter, cls []*call[T], fs []*flight[T]) ([]*call[T], []*flight[T]) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.LoadTimeout)
	defer cancel()
	v0 := make([]uint64, len(cls))
	vks := make([]string, len(cls))
	for i, cl := range cls {
		v0[i] = c.vers.read(cl.vk)
		vks[i] = cl.vk
		c.hook(stepBeforeL2Get, cl.key)
	}
	bs, err := bg.GetMany(ctx, vks)
	if err != nil || len(bs) != len(cls) {
		if err != nil {
			c.fail("l2 get", err)
		}
		return cls, fs
	}
	var restC []*call[T]
	var restF []*flight[T]
	for i, cl := range cls {
		if bs[i] != nil {
			if r, ok := c.useL2(ctx, cl, v0[i], bs[i]); ok {
				c.flight.finish(cl.vk, fs[i], r)
				continue
			}
		}
		cl.skipL2 = true
		restC = append(restC, cl)
		restF = append(restF, fs[i])
	}
	return restC, restF
}

// loaderOf is the Loader of one key of a BatchLoader (a FetchMany's refresh, a takeover).
func loaderOf[T any](load BatchLoader[T], key string) Loader[T] {
	return func(ctx context.Context) (T, error) {
		var zero T
		m, err := load(ctx, []string{key})
		if err != nil {
			return zero, err
		}
		v, ok := m[key]
		if !ok {
			return zero, ErrNotFound
		}
		return v, nil
	}
}

// batch gathers the loads of one FetchMany's fills into calls of its loader. Each key's fill
// runs as Fetch's does (L2, fill lock, versions) and, at its load, calls its key's Loader,
// which joins the current round. A round is sent to the loader once no key of the batch can
// still join it: each key has either joined, or finished without a load (an L2 answer, a
// failure), or started waiting for another instance's fill lock. A key that joins later (a
// takeover after the wait) makes a round of its own.
type batch[T any] struct {
	load  BatchLoader[T]
	mu    sync.Mutex
	open  map[string]struct{} // keys that may still join the current round
	order map[string]int      // each key's place in the FetchMany's list
	cur   *round[T]
}

type round[T any] struct {
	keys  []string
	start chan struct{} // closed when the round is complete; its first key runs the loader
	done  chan struct{} // closed when vals and err are set
	vals  map[string]T
	err   error
}

// settle records that key will not join the current round, and starts the round if it was
// the last one it waited for.
func (b *batch[T]) settle(key string) {
	b.mu.Lock()
	r := b.settleLocked(key)
	b.mu.Unlock()
	if r != nil {
		close(r.start)
	}
}

func (b *batch[T]) settleLocked(key string) *round[T] {
	delete(b.open, key)
	if len(b.open) > 0 || b.cur == nil {
		return nil
	}
	r := b.cur
	b.cur = nil
	return r
}

// loader returns the Loader of key: it joins the round, the round's first key calls the
// batch loader (with the keys in the order FetchMany was given them) when the round is
// complete, and each key returns its own value.
func (b *batch[T]) loader(key string) Loader[T] {
	return func(ctx context.Context) (T, error) {
		b.mu.Lock()
		if b.cur == nil {
			b.cur = &round[T]{start: make(chan struct{}), done: make(chan struct{})}
		}
		r := b.cur
		r.keys = append(r.keys, key)
		first := len(r.keys) == 1
		ready := b.settleLocked(key)
		b.mu.Unlock()
		if ready != nil {
			close(ready.start)
		}
		if first {
			<-r.start
			slices.SortFunc(r.keys, func(a, b2 string) int { return b.order[a] - b.order[b2] })
			r.vals, r.err = b.load(ctx, r.keys)
			close(r.done)
		} else {
			<-r.done
		}
		var zero T
		if r.err != nil {
			return zero, r.err
		}
		v, ok := r.vals[key]
		if !ok {
			return zero, ErrNotFound
		}
		return v, nil
	}
}
