package core

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-cache/strata/store"
)

// fakeShared is an in-memory L2 and fleet that several caches share (a fake Redis), with
// faults injected per call: it lets core's failure handling be tested without a server, next
// to the real-Redis tests.
type fakeShared struct {
	now func() time.Time

	mu     sync.Mutex
	vals   map[string]fakeVal
	locks  map[string]string
	tags   map[string]map[string]bool
	gen    uint64
	secret string
	subs   map[int]fakeSub
	nextID int
	tokens int

	fault atomic.Value // fault: what every call does now
	calls atomic.Int64 // calls made (faulty ones included)
}

type fakeVal struct {
	b   []byte
	exp time.Time
}

type fakeSub struct {
	handler func([]byte)
	live    func(bool)
}

// fault is the behaviour of the fake's calls.
type fault struct {
	down    bool                        // every call fails
	open    bool                        // every call is refused with store.ErrUnavailable (an open breaker)
	delay   time.Duration               // every call takes this long (or until its context ends)
	corrupt func(b []byte) []byte       // Get returns this instead of the stored value
	flap    bool                        // every other call fails
	lockErr bool                        // Lock fails (the rest works)
	hook    func(op string, key string) // called at the start of every call
}

var errFakeDown = errors.New("fake: tier down")

func newFakeShared(now func() time.Time) *fakeShared {
	f := &fakeShared{now: now, vals: map[string]fakeVal{}, locks: map[string]string{},
		tags: map[string]map[string]bool{}, subs: map[int]fakeSub{}}
	f.fault.Store(fault{})
	return f
}

func (f *fakeShared) set(ft fault) { f.fault.Store(ft) }

// enter applies the current fault to one call.
func (f *fakeShared) enter(ctx context.Context, op, key string) (fault, error) {
	n := f.calls.Add(1)
	ft := f.fault.Load().(fault)
	if ft.hook != nil {
		ft.hook(op, key)
	}
	if ft.delay > 0 {
		t := time.NewTimer(ft.delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ft, ctx.Err()
		}
	}
	if ft.down || (ft.flap && n%2 == 0) {
		return ft, errFakeDown
	}
	if ft.open {
		return ft, store.ErrUnavailable
	}
	return ft, nil
}

func (f *fakeShared) Get(ctx context.Context, key string) ([]byte, error) {
	ft, err := f.enter(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	v, ok := f.vals[key]
	if ok && !f.now().Before(v.exp) {
		delete(f.vals, key)
		ok = false
	}
	f.mu.Unlock()
	if !ok {
		return nil, store.ErrNotFound
	}
	b := bytes.Clone(v.b)
	if ft.corrupt != nil {
		b = ft.corrupt(b)
	}
	return b, nil
}

func (f *fakeShared) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if _, err := f.enter(ctx, "set", key); err != nil {
		return err
	}
	f.mu.Lock()
	f.vals[key] = fakeVal{b: bytes.Clone(value), exp: f.now().Add(ttl)}
	f.mu.Unlock()
	return nil
}

func (f *fakeShared) Delete(ctx context.Context, keys ...string) error {
	if _, err := f.enter(ctx, "delete", ""); err != nil {
		return err
	}
	f.mu.Lock()
	for _, k := range keys {
		delete(f.vals, k)
	}
	f.mu.Unlock()
	return nil
}

// has reports whether key holds a value (no fault applies).
func (f *fakeShared) has(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.vals[key]
	return ok
}

func (f *fakeShared) Lock(ctx context.Context, key string, _ time.Duration) (string, bool, error) {
	ft, err := f.enter(ctx, "lock", key)
	if err == nil && ft.lockErr {
		err = errFakeDown
	}
	if err != nil {
		return "", false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, held := f.locks[key]; held {
		return "", false, nil
	}
	f.tokens++
	tok := strconv.Itoa(f.tokens)
	f.locks[key] = tok
	return tok, true, nil
}

func (f *fakeShared) Extend(ctx context.Context, key, token string, _ time.Duration) (bool, error) {
	if _, err := f.enter(ctx, "extend", key); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.locks[key] == token, nil
}

func (f *fakeShared) Unlock(ctx context.Context, key, token string) error {
	if _, err := f.enter(ctx, "unlock", key); err != nil {
		return err
	}
	f.mu.Lock()
	if f.locks[key] == token {
		delete(f.locks, key)
	}
	f.mu.Unlock()
	return nil
}

func (f *fakeShared) Publish(ctx context.Context, msg []byte) error {
	if _, err := f.enter(ctx, "publish", ""); err != nil {
		return err
	}
	f.mu.Lock()
	subs := make([]fakeSub, 0, len(f.subs))
	for _, s := range f.subs {
		subs = append(subs, s)
	}
	f.mu.Unlock()
	for _, s := range subs {
		s.handler(bytes.Clone(msg))
	}
	return nil
}

func (f *fakeShared) Subscribe(handler func([]byte), live func(bool)) (stop func()) {
	f.mu.Lock()
	id := f.nextID
	f.nextID++
	f.subs[id] = fakeSub{handler, live}
	f.mu.Unlock()
	live(true)
	return func() {
		f.mu.Lock()
		delete(f.subs, id)
		f.mu.Unlock()
	}
}

// reconnect tells every subscriber that messages may have been lost.
func (f *fakeShared) reconnect() {
	f.mu.Lock()
	subs := make([]fakeSub, 0, len(f.subs))
	for _, s := range f.subs {
		subs = append(subs, s)
	}
	f.mu.Unlock()
	for _, s := range subs {
		s.live(false)
		s.live(true)
	}
}

func (f *fakeShared) TagAdd(ctx context.Context, tags []string, key string, _ time.Duration) error {
	if _, err := f.enter(ctx, "tagadd", key); err != nil {
		return err
	}
	f.mu.Lock()
	for _, t := range tags {
		if f.tags[t] == nil {
			f.tags[t] = map[string]bool{}
		}
		f.tags[t][key] = true
	}
	f.mu.Unlock()
	return nil
}

func (f *fakeShared) TagPurge(ctx context.Context, tags ...string) ([]string, error) {
	if _, err := f.enter(ctx, "tagpurge", ""); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for _, t := range tags {
		for k := range f.tags[t] {
			keys = append(keys, k)
		}
		delete(f.tags, t)
	}
	return keys, nil
}

func (f *fakeShared) Generation(ctx context.Context) (uint64, error) {
	if _, err := f.enter(ctx, "gen", ""); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gen, nil
}

func (f *fakeShared) NextGeneration(ctx context.Context) (uint64, error) {
	if _, err := f.enter(ctx, "gen", ""); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gen++
	return f.gen, nil
}

func (f *fakeShared) Secret(ctx context.Context, proposal string) (string, error) {
	if _, err := f.enter(ctx, "secret", ""); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.secret == "" {
		f.secret = proposal
	}
	return f.secret, nil
}

var (
	_ Tier  = (*fakeShared)(nil)
	_ Fleet = (*fakeShared)(nil)
)
