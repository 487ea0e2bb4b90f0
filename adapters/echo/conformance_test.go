package echocache_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	echocache "github.com/strata-cache/strata/adapters/echo"
	"github.com/strata-cache/strata/conformance"
	"github.com/strata-cache/strata/core"
)

// newEcho returns a quiet echo with a recoverer and the cache.
func newEcho(cache *core.Cache) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard)
	e.Use(recoverer, echocache.Middleware(cache))
	return e
}

// recoverer turns a handler's panic into an error for echo's HTTPErrorHandler (500), as
// echo's middleware.Recover does. (That package needs golang.org/x/time, which this module
// does not require.)
func recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return next(c)
	}
}

// TestConformance runs the adapter suite on echo: a recoverer and the cache with e.Use, each
// route as e.Add(method, path, echo.WrapHandler(h), echocache.Policy(p)). The chain is bound
// to echo's pooled Context, so a refresh never runs detached.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T, cache *core.Cache, routes []conformance.Route) http.Handler {
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
	}, conformance.Options{})
}
