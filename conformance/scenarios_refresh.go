package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// NoFlushScenarios is what the no-flush row runs behind a writer that cannot flush: the
// background-refresh scenarios, and every scenario of [Scenarios] that needs neither a flush
// (stream/…) nor a stale-while-revalidate refresh within the request.
func NoFlushScenarios(o Options) []Scenario {
	var out []Scenario
	for _, sc := range Scenarios() {
		if sc.Flushes || strings.HasPrefix(sc.Name, "stream/") || sc.Name == "stale/while-revalidate" ||
			sc.Name == "stale/while-revalidate-route-policy" {
			continue
		}
		out = append(out, sc)
	}
	return append(out, refreshScenarios(o)...)
}

// refreshScenarios: a stale-while-revalidate answer behind a writer that cannot flush leaves
// at once (RFC 5861 §3), whatever the refresh costs. An adapter that lets core run its chain
// detached refreshes in the background; the others leave the refresh to the next request,
// which revalidates in the foreground.
//
// The refresh is held until a later step releases it, which it does only once the client has
// the whole stale answer; a refresh that ran within the request would hold the answer back,
// time out after 1 s, and fail that step.
func refreshScenarios(o Options) []Scenario {
	type variant struct {
		name   string
		method string // of the stale request
		route  func(h http.HandlerFunc) Route
		cc     string // Cache-Control of the refreshed hit
	}
	variants := []variant{
		{name: "refresh/no-flush", method: http.MethodGet,
			route: func(h http.HandlerFunc) Route { return get("/a", h) }, cc: "max-age=1, stale-while-revalidate=30"},
		{name: "refresh/no-flush-head-route-policy", method: http.MethodHead,
			route: func(h http.HandlerFunc) Route {
				return Route{Path: "/a", Policy: headers.Public(0).SMaxAge(time.Second).StaleWhileRevalidate(30 * time.Second), Handler: h}
			}, cc: "public, max-age=0, s-maxage=1, stale-while-revalidate=30"},
	}
	var out []Scenario
	for _, v := range variants {
		g := newGate()
		fields := []string{"Cache-Control: max-age=1, stale-while-revalidate=30"}
		if v.method == http.MethodHead {
			fields = nil // the route's policy sets it
		}
		wantBody := func(b string) Check {
			if v.method == http.MethodHead {
				return Body("")
			}
			return Body(b)
		}
		steps := []Step{
			{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=uri-miss; ttl=1; stored"), Body("v1")}, Runs: Runs{"/a": 1}},
		}
		if o.DetachedRefresh {
			steps = append(steps,
				Step{Note: "the stale answer leaves at once; the refresh runs detached", Advance: 5 * time.Second, Method: v.method, Path: "/a", Status: 200,
					Want: []Check{CacheStatus("strata; hit; ttl=-4; detail=stale-while-revalidate"), wantBody("v1"), Header("Content-Length", "2")}},
				Step{Note: "released once the client had its answer; then stored", Do: g.releaseAndWait(true),
					Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=1"), Body("v2"), Header("Cache-Control", v.cc)}, Runs: Runs{"/a": 2}},
			)
		} else {
			steps = append(steps,
				Step{Note: "the stale answer leaves at once; its refresh is left to the next request", Advance: 5 * time.Second, Method: v.method, Path: "/a", Status: 200,
					Want: []Check{CacheStatus("strata; hit; ttl=-4; detail=stale-while-revalidate"), wantBody("v1"), Header("Content-Length", "2")}, Runs: Runs{"/a": 1}},
				Step{Note: "which revalidates in the foreground", Do: g.releaseAndWait(false),
					Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; fwd=stale; ttl=1; stored"), Body("v2")}, Runs: Runs{"/a": 2}},
				Step{Path: "/a", Status: 200, Want: []Check{CacheStatus("strata; hit; ttl=1"), Body("v2"), Header("Cache-Control", v.cc)}, Runs: Runs{"/a": 2}},
			)
		}
		out = append(out, Scenario{Name: v.name, Routes: []Route{v.route(g.held(2, fields...))}, Steps: steps})
	}
	return out
}

// gate holds one run of a handler until a step releases it.
type gate struct {
	open     chan struct{}
	once     sync.Once
	timedOut atomic.Bool // the held run was not released within 1 s
}

func newGate() *gate { return &gate{open: make(chan struct{})} }

// held answers like versioned; its run number hold waits for the gate (1 s at most).
func (g *gate) held(hold int, fields ...string) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		k := int(n.Add(1))
		if k == hold {
			t := time.NewTimer(time.Second)
			select {
			case <-g.open:
				t.Stop()
			case <-t.C:
				g.timedOut.Store(true)
			}
		}
		setFields(w.Header(), fields)
		_, _ = io.WriteString(w, "v"+strconv.Itoa(k))
	}
}

// releaseAndWait checks that the held run has not given up waiting (the client of the
// previous step had its answer without it), opens the gate and, for a detached refresh,
// waits until it is stored.
func (g *gate) releaseAndWait(detached bool) func(context.Context, *core.Cache) error {
	return func(ctx context.Context, c *core.Cache) error {
		if g.timedOut.Load() {
			return errors.New("the stale answer waited for its refresh (the refresh ran within the request)")
		}
		g.once.Do(func() { close(g.open) })
		if !detached {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := c.WaitRefreshes(ctx); err != nil {
			return fmt.Errorf("the background refresh did not finish: %w", err)
		}
		return nil
	}
}
