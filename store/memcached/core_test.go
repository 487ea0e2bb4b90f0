package memcached_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/internal/memcachedtest"
	"github.com/strata-cache/strata/store/memcached"
)

// countingOrigin answers every request with a cacheable body and counts its runs.
type countingOrigin struct{ runs atomic.Int64 }

func (o *countingOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.runs.Add(1)
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, _ = io.WriteString(w, "body of "+r.URL.Path)
}

func newCoreCache(t *testing.T, cfg core.Config) *core.Cache {
	t.Helper()
	if cfg.Namespace == "" {
		cfg.Namespace = "t"
	}
	cfg.Jitter, cfg.Beta = -1, -1
	c, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func get(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://example.com"+path, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, w.Code)
	}
	return w.Body.String()
}

// TestCoreL2: two caches (two instances) with the in-process fleet, a shared KeySecret and one
// memcached as their L2: what one stores, the other serves without running its origin.
func TestCoreL2(t *testing.T) {
	srv := memcachedtest.Start(t)
	s := newStore(t, srv.Addr(), memcached.Options{Timeout: time.Second})
	secret := []byte("a secret the fleet shares, 32 bytes")

	a := newCoreCache(t, core.Config{L2: s, KeySecret: secret})
	b := newCoreCache(t, core.Config{L2: s, KeySecret: secret})
	var oa, ob countingOrigin
	ha, hb := a.Middleware(&oa), b.Middleware(&ob)

	if got := get(t, ha, "/page"); got != "body of /page" {
		t.Fatalf("A: %q", got)
	}
	if got := get(t, hb, "/page"); got != "body of /page" {
		t.Fatalf("B: %q", got)
	}
	if oa.runs.Load() != 1 || ob.runs.Load() != 0 {
		t.Fatalf("origin runs: A %d, B %d; want 1, 0 (B served A's entry from memcached)", oa.runs.Load(), ob.runs.Load())
	}
	if st := b.Stats(); !st.HasL2 || st.L2.Hits == 0 {
		t.Errorf("B's Stats: HasL2 %v, L2 %+v; want L2 hits", st.HasL2, st.L2)
	}
}

// TestCoreL2Only: with the L1 off, every hit comes from memcached.
func TestCoreL2Only(t *testing.T) {
	srv := memcachedtest.Start(t)
	s := newStore(t, srv.Addr(), memcached.Options{Timeout: time.Second})
	c := newCoreCache(t, core.Config{L2: s, DisableL1: true})
	var o countingOrigin
	h := c.Middleware(&o)
	for range 3 {
		if got := get(t, h, "/x"); got != "body of /x" {
			t.Fatalf("%q", got)
		}
	}
	if o.runs.Load() != 1 {
		t.Fatalf("origin ran %d times, want 1", o.runs.Load())
	}
	if st := s.Stats(); st.Hits < 2 {
		t.Errorf("memcached Stats = %+v, want at least 2 hits", st)
	}
}

// TestCoreL2Down: with memcached stopped, the cache answers from the origin and its L1,
// without errors and without waiting past the store's timeout.
func TestCoreL2Down(t *testing.T) {
	srv := memcachedtest.Start(t)
	s := newStore(t, srv.Addr(), memcached.Options{Timeout: 50 * time.Millisecond})
	c := newCoreCache(t, core.Config{L2: s})
	var o countingOrigin
	h := c.Middleware(&o)
	srv.Stop()
	start := time.Now()
	for range 3 {
		if got := get(t, h, "/down"); got != "body of /down" {
			t.Fatalf("%q", got)
		}
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("three requests took %s with memcached down", took)
	}
	if o.runs.Load() != 1 {
		t.Errorf("origin ran %d times, want 1 (the L1 serves the rest)", o.runs.Load())
	}
	if st := s.Stats(); st.Errors == 0 {
		t.Errorf("memcached Stats = %+v, want errors", st)
	}
}
