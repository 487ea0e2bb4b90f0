package appcache

import "sync"

// flights is this instance's in-process coalescing: one fill per value key at a time, which
// every Fetch and FetchMany of the key waits for. A Fetch starts one fill; a FetchMany joins
// the fills in flight of its keys and starts one for each of the others, all at once, so the
// keys a Fetch is already loading are not loaded again by a batch, nor the other way round.
type flights[T any] struct {
	mu sync.Mutex
	m  map[string]*flight[T]
}

// flight is one fill in progress; res is set before done is closed, and read-only after.
type flight[T any] struct {
	done chan struct{}
	res  result[T]
}

// join returns the fill in flight of vk, or a new one that the caller owns (owner true) and
// must finish.
func (g *flights[T]) join(vk string) (f *flight[T], owner bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.joinLocked(vk)
}

// has reports whether a fill of vk is in flight.
func (g *flights[T]) has(vk string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.m[vk] != nil
}

// joinAll joins the fills of vks in one step (g.mu held once).
func (g *flights[T]) joinAll(vks []string) (fs []*flight[T], owned []bool) {
	fs, owned = make([]*flight[T], len(vks)), make([]bool, len(vks))
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, vk := range vks {
		fs[i], owned[i] = g.joinLocked(vk)
	}
	return fs, owned
}

func (g *flights[T]) joinLocked(vk string) (*flight[T], bool) {
	if f, ok := g.m[vk]; ok {
		return f, false
	}
	if g.m == nil {
		g.m = make(map[string]*flight[T])
	}
	f := &flight[T]{done: make(chan struct{})}
	g.m[vk] = f
	return f, true
}

// finish publishes the result of an owned fill to its waiters. A Fetch that arrives after it
// starts a fill of its own (which finds the value this one stored).
func (g *flights[T]) finish(vk string, f *flight[T], r result[T]) {
	g.mu.Lock()
	if g.m[vk] == f {
		delete(g.m, vk)
	}
	g.mu.Unlock()
	f.res = r
	close(f.done)
}
