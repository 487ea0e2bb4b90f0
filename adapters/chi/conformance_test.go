package chicache_test

import (
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	chicache "github.com/strata-cache/strata/adapters/chi"
	"github.com/strata-cache/strata/conformance"
	"github.com/strata-cache/strata/core"
)

// TestConformance runs the adapter suite on chi: the cache at the router, each route's
// policy with r.With(chicache.Policy(p)), chi's Recoverer in front.
func TestConformance(t *testing.T) {
	conformance.Run(t, mount, conformance.Options{DetachedRefresh: true})
}

// TestWire runs the suite's real-connection tests (upgrades, trailers) on chi.
func TestWire(t *testing.T) { conformance.RunWire(t, mount) }

func mount(t *testing.T, cache *core.Cache, routes []conformance.Route) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer, chicache.Middleware(cache))
	for _, rt := range routes {
		var rr chi.Router = r
		if !rt.Policy.IsZero() {
			rr = r.With(chicache.Policy(rt.Policy))
		}
		for _, m := range rt.Methods() {
			rr.Method(m, rt.Path, rt.Handler)
		}
	}
	return r
}

// TestOuterLogger runs the outer-logger row on chi: a status logger (net/http handlers have
// no error value) in front of the cache, handlers answering with http.Error.
func TestOuterLogger(t *testing.T) {
	conformance.RunOuterLogger(t, func(t *testing.T, cache *core.Cache, fs []conformance.Failure, log func(conformance.Seen)) http.Handler {
		r := chi.NewRouter()
		r.Use(func(next http.Handler) http.Handler { return conformance.StatusLogger(next, log) })
		if cache != nil {
			r.Use(chicache.Middleware(cache))
		}
		for _, f := range fs {
			var rr chi.Router = r
			if !f.Policy.IsZero() {
				rr = r.With(chicache.Policy(f.Policy))
			}
			rr.Get(f.Path, f.Handler())
		}
		return r
	})
}
