package core

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPurgeDuringOutageReplayed: a purge made while the fleet is unreachable is kept and
// replayed once it answers: the other instance drops its copy, and this one never promotes
// the purged entry back from the shared tier meanwhile (a tombstone).
func TestPurgeDuringOutageReplayed(t *testing.T) {
	cs, f, _ := fakeCaches(t, 2, Config{}, fault{})
	v := 1
	a, b := cs[0].Middleware(newOrigin(pathHandler(&v))), cs[1].Middleware(newOrigin(pathHandler(&v)))
	do(t, a, "GET", "/i")
	if w := do(t, b, "GET", "/i"); !strings.HasPrefix(w.Header().Get("Cache-Status"), "strata; hit") {
		t.Fatalf("B: %q, want an L2 hit", w.Header().Get("Cache-Status"))
	}

	f.set(fault{down: true})
	v = 2
	if _, err := cs[0].Purge(context.Background(), "http://example.com/i"); err != nil {
		t.Fatal(err)
	}
	f.set(fault{}) // back, before the replay: the purged value is still in the shared tier
	if w := do(t, a, "GET", "/i"); body(w) != "v2 /i" {
		t.Fatalf("A right after the outage: %q (%s), want v2: the purged entry came back from L2",
			body(w), w.Header().Get("Cache-Status"))
	}
	if _, ok := waitFor(5*time.Second, func() bool { return body(do(t, b, "GET", "/i")) == "v2 /i" }); !ok {
		t.Fatal("B still answers the purged version 5 s after the fleet came back")
	}
}

// TestPurgeAllDuringOutageReplayed: a PurgeAll while the fleet is unreachable moves every
// instance to a new generation once it answers.
func TestPurgeAllDuringOutageReplayed(t *testing.T) {
	cs, f, _ := fakeCaches(t, 2, Config{}, fault{})
	v := 1
	a, b := cs[0].Middleware(newOrigin(pathHandler(&v))), cs[1].Middleware(newOrigin(pathHandler(&v)))
	do(t, a, "GET", "/g")
	do(t, b, "GET", "/g")
	f.set(fault{down: true})
	v = 2
	if err := cs[0].PurgeAll(context.Background()); err == nil {
		t.Fatal("PurgeAll with the fleet down returned no error")
	}
	f.set(fault{})
	if _, ok := waitFor(5*time.Second, func() bool { return body(do(t, b, "GET", "/g")) == "v2 /g" }); !ok {
		t.Fatal("B still answers from the old generation 5 s after the fleet came back")
	}
	_ = http.StatusOK
}
