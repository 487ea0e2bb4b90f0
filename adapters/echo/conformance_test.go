package echocache_test

import (
	"errors"
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
// route as e.Add(method, path, echo.WrapHandler(h), echocache.Policy(p)).
// The chain is bound to the framework's pooled Context, so a refresh never runs detached.
func TestConformance(t *testing.T) { conformance.Run(t, mount, conformance.Options{}) }

// TestWire runs the suite's real-connection tests (upgrades, trailers) on echo.
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

// TestOuterLogger runs the outer-logger row on echo: a request logger in the style of echo's
// RequestLogger with HandleError (it answers a returned error, then logs the Response's
// status and the error, and returns the error) in front of the cache; handlers return
// echo.NewHTTPError(status, text), or a plain error for a 500.
func TestOuterLogger(t *testing.T) {
	conformance.RunOuterLogger(t, func(t *testing.T, cache *core.Cache, fs []conformance.Failure, log func(conformance.Seen)) http.Handler {
		e := echo.New()
		e.HideBanner, e.HidePort = true, true
		e.Logger.SetOutput(io.Discard)
		e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error {
				err := next(c)
				if err != nil {
					c.Error(err)
				}
				s := conformance.Seen{Status: c.Response().Status}
				if err != nil {
					s.Err = err.Error()
				}
				log(s)
				return err
			}
		})
		if cache != nil {
			e.Use(echocache.Middleware(cache))
		}
		for _, f := range fs {
			var mw []echo.MiddlewareFunc
			if !f.Policy.IsZero() {
				mw = append(mw, echocache.Policy(f.Policy))
			}
			e.GET(f.Path, func(c echo.Context) error {
				f.Ran()
				switch {
				case f.Err == "":
					return c.String(f.Status, "ok")
				case f.Status == http.StatusInternalServerError:
					return errors.New(f.Err)
				}
				return echo.NewHTTPError(f.Status, f.Err)
			}, mw...)
		}
		return e
	})
}
