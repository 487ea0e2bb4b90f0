package conformance_test

import (
	"net/http"
	"testing"

	"github.com/strata-cache/strata/conformance"
	"github.com/strata-cache/strata/core"
)

// TestNetHTTP runs the suite on plain net/http: core's Middleware in front of a ServeMux,
// core.PolicyMiddleware on each route that has a policy. The mux pools nothing, so a refresh
// may run detached.
func TestNetHTTP(t *testing.T) {
	conformance.Run(t, func(t *testing.T, cache *core.Cache, routes []conformance.Route) http.Handler {
		mux := http.NewServeMux()
		for _, rt := range routes {
			var h http.Handler = rt.Handler
			if !rt.Policy.IsZero() {
				h = core.PolicyMiddleware(rt.Policy)(h)
			}
			mux.Handle(rt.Method+" "+rt.Path, h) // "GET /a" answers HEAD too
		}
		return recoverer(cache.Middleware(mux))
	}, conformance.Options{DetachedRefresh: true})
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

func TestScenarioCount(t *testing.T) {
	if n := len(conformance.Scenarios()); n < 60 {
		t.Fatalf("%d scenarios, want at least 60", n)
	}
}
