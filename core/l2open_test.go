package core

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store"
)

// Issue 17, item 6: an answer whose lookup skipped the L2 because its circuit breaker is open
// says so in Cache-Status (RFC 9211 §2.8 detail): detail=l2-open.

func TestCacheStatusL2Open(t *testing.T) {
	cs, f, _ := fakeCaches(t, 1, Config{}, fault{})
	v := 1
	o := newOrigin(pathHandler(&v))
	h := cs[0].Middleware(o)
	wantCacheStatus(t, do(t, h, "GET", "/before"), "strata; fwd=uri-miss; ttl=60; stored")

	f.set(fault{open: true})
	wantCacheStatus(t, do(t, h, "GET", "/a"), "strata; fwd=uri-miss; ttl=60; stored; detail=l2-open")
	wantCacheStatus(t, do(t, h, "GET", "/a"), "strata; hit; ttl=60") // L1: L2 not needed
	// A reason not to store wins the one detail.
	priv := cs[0].Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60")
	}))
	if got := do(t, priv, "GET", "/private").Header().Get("Cache-Status"); !strings.HasSuffix(got, "detail=private") {
		t.Fatalf("not stored with the L2 open: Cache-Status %q, want detail=private", got)
	}

	f.set(fault{down: true}) // asked and failed: not skipped
	if got := do(t, h, "GET", "/b").Header().Get("Cache-Status"); strings.Contains(got, "detail") {
		t.Fatalf("L2 failing (breaker closed): Cache-Status %q, want no detail", got)
	}
	f.set(fault{})
	wantCacheStatus(t, do(t, h, "GET", "/c"), "strata; fwd=uri-miss; ttl=60; stored")
}

// TestCacheStatusL2OpenRedis: the real breaker. Redis freezes (SIGSTOP); the lookups that ask
// it time out, and once the breaker opens, a lookup skips it and says so.
func TestCacheStatusL2OpenRedis(t *testing.T) {
	srv := redistest.Start(t)
	c := newL2Cache(t, srv.Client(t), Config{Namespace: "open", KeySecret: []byte("s")},
		redisOpts{Timeout: 30 * time.Millisecond, BreakerFailures: 3, BreakerCooldown: time.Minute})
	v := 1
	h := c.Middleware(newOrigin(pathHandler(&v)))
	wantCacheStatus(t, do(t, h, "GET", "/up"), "strata; fwd=uri-miss; ttl=60; stored")
	srv.Pause()
	defer srv.Resume()
	if got := do(t, h, "GET", "/a").Header().Get("Cache-Status"); strings.Contains(got, "l2-open") {
		t.Fatalf("first lookup with Redis frozen: %q, want no l2-open (the breaker was closed)", got)
	}
	for i := 0; c.Stats().L2.Breaker != store.BreakerOpen; i++ {
		if i == 20 {
			t.Fatalf("breaker %s after 20 requests to a frozen Redis, want open", c.Stats().L2.Breaker)
		}
		do(t, h, "GET", "/a"+strconv.Itoa(i))
	}
	wantCacheStatus(t, do(t, h, "GET", "/b"), "strata; fwd=uri-miss; ttl=60; stored; detail=l2-open")
}
