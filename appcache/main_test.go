package appcache

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store"
	"github.com/strata-cache/strata/store/redisstore"
)

// TestMain fails the package when a goroutine outlives its tests: a refresh, a lock extender,
// a write-behind flusher or a subscriber that Close did not stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var bg = context.Background()

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(1_700_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// mapTier is a core.Tier without VersionedTier (the fallback path), with no expiry.
type mapTier struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMapTier() *mapTier { return &mapTier{m: make(map[string][]byte)} }

func (t *mapTier) Get(_ context.Context, k string) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[k]
	if !ok {
		return nil, store.ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

func (t *mapTier) Set(_ context.Context, k string, v []byte, _ time.Duration) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m[k] = append([]byte(nil), v...)
	return nil
}

func (t *mapTier) Delete(_ context.Context, keys ...string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.m, k)
	}
	return nil
}

// newCache builds a cache closed by t.Cleanup.
func newCache[T any](t testing.TB, o Options[T]) *Cache[T] {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newRedisStore returns a store over srv with a tolerant timeout, closed by t.Cleanup (after the
// caches built on it, which register their cleanups later).
func newRedisStore(t testing.TB, srv *redistest.Server) *redisstore.Store {
	t.Helper()
	rs, err := redisstore.New(srv.Client(t), redisstore.Options{Prefix: "t", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rs.Close() })
	return rs
}

// waitFor polls cond until it holds or 5 s pass (for background work and bus messages, whose
// completion has no other signal).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var errBoom = errors.New("boom")

// redisstore reads FetchMany's L2 keys in one round trip.
var _ BatchGetter = (*redisstore.Store)(nil)
