// Package chicache exposes Strata's cache as go-chi middleware.
//
// # Setup
//
//	cache, err := core.New(core.Config{})
//	r := chi.NewRouter()
//	r.Use(chicache.Middleware(cache))
//	r.With(chicache.Policy(headers.Public(10 * time.Second).SMaxAge(time.Minute))).
//		Get("/products/{id}", getProduct)
//
// Middleware serves GET and HEAD from the cache and invalidates on successful unsafe requests.
// MiddlewareWithConfig takes a Skip func(*http.Request) bool: the GET and HEAD requests it
// selects pass the cache by ("fwd=bypass; detail=skip"). Policy declares a route's policy. No caching logic lives here: chi handlers are net/http
// handlers, so the adapter only adds chi's route pattern as the metrics label, and gives a
// background refresh (a stale answer an outer middleware cannot flush) its own clone of chi's
// route context, which chi pools.
package chicache
