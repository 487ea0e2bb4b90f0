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
// policy with r.With(chicache.Policy(p)), chi's Recoverer in front. A refresh may run
// detached (the adapter clones chi's route context for it).
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T, cache *core.Cache, routes []conformance.Route) http.Handler {
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
	}, conformance.Options{DetachedRefresh: true})
}
