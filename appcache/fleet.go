package appcache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-cache/strata/core"
)

// localFleet is the fleet of a Cache given none: one instance. Its lock always succeeds (the
// in-process coalescing is all one instance needs), its bus has nobody to tell, and its tag
// index is a bounded map: past maxKeys it resets, and the cache then clears its L1 (onReset), so
// no tagged value outlives a purge that could no longer find it.
type localFleet struct {
	mu      sync.Mutex
	tags    map[string]map[string]struct{}
	n       int
	maxKeys int
	onReset func()
	gen     atomic.Uint64
}

var _ core.Fleet = (*localFleet)(nil)

func (*localFleet) Lock(context.Context, string, time.Duration) (string, bool, error) {
	return "", true, nil
}
func (*localFleet) Extend(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}
func (*localFleet) Unlock(context.Context, string, string) error       { return nil }
func (*localFleet) Publish(context.Context, []byte) error              { return nil }
func (*localFleet) Subscribe(func([]byte), func(bool)) (stop func())   { return func() {} }
func (f *localFleet) Generation(context.Context) (uint64, error)       { return f.gen.Load(), nil }
func (f *localFleet) NextGeneration(context.Context) (uint64, error)   { return f.gen.Add(1), nil }
func (*localFleet) Secret(_ context.Context, p string) (string, error) { return p, nil }

func (f *localFleet) TagAdd(_ context.Context, tags []string, key string, _ time.Duration) error {
	f.mu.Lock()
	reset := false
	if f.n+len(tags) > f.maxKeys {
		f.tags, f.n, reset = nil, 0, true
	}
	if f.tags == nil {
		f.tags = make(map[string]map[string]struct{})
	}
	for _, t := range tags {
		s := f.tags[t]
		if s == nil {
			s = make(map[string]struct{})
			f.tags[t] = s
		}
		if _, ok := s[key]; !ok {
			s[key] = struct{}{}
			f.n++
		}
	}
	f.mu.Unlock()
	if reset && f.onReset != nil {
		f.onReset()
	}
	return nil
}

func (f *localFleet) TagPurge(_ context.Context, tags ...string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := make(map[string]struct{})
	var keys []string
	for _, t := range tags {
		for k := range f.tags[t] {
			if _, dup := seen[k]; !dup {
				seen[k] = struct{}{}
				keys = append(keys, k)
			}
		}
		f.n -= len(f.tags[t])
		delete(f.tags, t)
	}
	return keys, nil
}
