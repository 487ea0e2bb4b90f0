package echocache_test

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	echocache "github.com/strata-cache/strata/adapters/echov5"
	"github.com/strata-cache/strata/conformance"
	"github.com/strata-cache/strata/core"
)

// newEcho returns a quiet echo with echo's Recover and the cache.
func newEcho(cache *core.Cache) *echo.Echo {
	e := echo.New()
	e.Logger = slog.New(slog.DiscardHandler)
	e.Use(middleware.Recover(), echocache.Middleware(cache))
	return e
}

// TestConformance runs the adapter suite on echo v5 (L1, then with a Redis L2): echo's
// Recover and the cache with e.Use, each route as e.Add(method, path,
// echo.WrapHandler(h), echocache.Policy(p)).
// The chain is bound to the framework's pooled Context, so a refresh never runs detached.
func TestConformance(t *testing.T) { conformance.Run(t, mount, conformance.Options{}) }

// TestWire runs the suite's real-connection tests (upgrades, trailers) on echo v5.
func TestWire(t *testing.T) { conformance.RunWire(t, mount) }

func mount(t *testing.T, cache *core.Cache, routes []conformance.Route) http.Handler {
	e := newEcho(cache)
	for _, rt := range routes {
		var mw []echo.MiddlewareFunc
		if !rt.Policy.IsZero() {
			mw = append(mw, echocache.Policy(rt.Policy))
		}
		for _, m := range rt.Methods() {
			e.Add(m, rt.Path, echo.WrapHandler(rt.Handler), mw...)
		}
	}
	return e
}
