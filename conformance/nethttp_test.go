package conformance_test

import (
	"net/http"
	"testing"

	"github.com/strata-cache/strata/conformance"
	"github.com/strata-cache/strata/core"
)

// TestNetHTTP runs the suite on plain net/http: core's Middleware in front of a ServeMux,
// core.PolicyMiddleware on each route that has a policy.
func TestNetHTTP(t *testing.T) {
	conformance.Run(t, mountNetHTTP, conformance.Options{DetachedRefresh: true})
}

// TestNetHTTPWire runs the real-connection tests (upgrades, trailers) on plain net/http.
func TestNetHTTPWire(t *testing.T) { conformance.RunWire(t, mountNetHTTP) }

func mountNetHTTP(t *testing.T, cache *core.Cache, routes []conformance.Route) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		var h http.Handler = rt.Handler
		if !rt.Policy.IsZero() {
			h = core.PolicyMiddleware(rt.Policy)(h)
		}
		mux.Handle(rt.Method+" "+rt.Path, h) // "GET /a" answers HEAD too
	}
	return recoverer(cache.Middleware(mux))
}

// recoverer answers 500 for a handler's panic, as a framework's recovery middleware does.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// TestOuterLogger runs the outer-logger row on plain net/http: a status logger in front of
// core's Middleware in front of a ServeMux.
func TestOuterLogger(t *testing.T) {
	conformance.RunOuterLogger(t, func(t *testing.T, cache *core.Cache, fs []conformance.Failure, log func(conformance.Seen)) http.Handler {
		mux := http.NewServeMux()
		for _, f := range fs {
			var h http.Handler = f.Handler()
			if !f.Policy.IsZero() {
				h = core.PolicyMiddleware(f.Policy)(h)
			}
			mux.Handle("GET "+f.Path, h)
		}
		if cache == nil {
			return conformance.StatusLogger(mux, log)
		}
		return conformance.StatusLogger(cache.Middleware(mux), log)
	})
}

func TestScenarioCount(t *testing.T) {
	if n := len(conformance.Scenarios()); n < 60 {
		t.Fatalf("%d scenarios, want at least 60", n)
	}
}
