// Command chi serves the demo API (README.md, "The demo API") on go-chi with Strata in front:
//
//	go run ./examples/chi                      # L1 only, on 127.0.0.1:8080
//	go run ./examples/chi -redis redis://127.0.0.1:6379/0     # catalogue in database 1 of it
//	go run ./examples/chi -redis redis://127.0.0.1:6379/0 -db redis://127.0.0.1:6380/0
package main

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	chicache "github.com/strata-cache/strata/adapters/chi"
	"github.com/strata-cache/strata/examples/internal/demo"
	"github.com/strata-cache/strata/headers"
)

// Router builds the demo API on chi behind the cache.
func Router(setup *demo.Setup, app *demo.App) http.Handler {
	cache := setup.Cache
	r := chi.NewRouter()
	r.Use(chicache.Middleware(cache))

	r.With(chicache.Policy(demo.ProductPolicy)).Get(demo.RouteProduct, func(w http.ResponseWriter, r *http.Request) {
		demo.Write(w, app.GetProduct(r, chi.URLParam(r, "id")))
	})
	r.Put(demo.RouteProduct, func(w http.ResponseWriter, r *http.Request) {
		demo.Write(w, app.UpdateProduct(r, chi.URLParam(r, "id")))
	})
	r.With(chicache.Policy(demo.ListPolicy)).Get(demo.RouteProducts, func(w http.ResponseWriter, r *http.Request) {
		demo.Write(w, app.ListProducts(r.Context(), r.URL.Query().Get("category")))
	})
	r.Get(demo.RouteMe, func(w http.ResponseWriter, r *http.Request) { demo.Write(w, app.Me(r)) })
	r.With(chicache.Policy(demo.SlowPolicy)).Get(demo.RouteSlow, func(w http.ResponseWriter, r *http.Request) {
		demo.Write(w, app.Slow())
	})
	r.With(chicache.Policy(demo.ClockPolicy)).Get(demo.RouteClock, func(w http.ResponseWriter, r *http.Request) {
		demo.Write(w, app.Clock())
	})
	r.With(chicache.Policy(headers.NoStore())).Put("/debug/fail", func(w http.ResponseWriter, r *http.Request) {
		demo.Write(w, app.SetFail(r.URL.Query().Get("on")))
	})
	r.With(chicache.Policy(headers.NoStore())).Get("/debug/origin", func(w http.ResponseWriter, r *http.Request) {
		demo.Write(w, app.Origin())
	})
	r.Method(http.MethodPost, "/admin/purge", cache.PurgeHandler(app.AdminToken))
	r.Method(http.MethodGet, "/metrics", setup.Metrics)
	return r
}

func main() { demo.Main("chi", Router) }
