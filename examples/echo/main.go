// Command echo serves the demo API (README.md, "The demo API") on echo with Strata in front:
//
//	go run ./examples/echo                     # L1 only, on 127.0.0.1:8080
//	go run ./examples/echo -redis redis://127.0.0.1:6379/0     # catalogue in database 1 of it
//	go run ./examples/echo -redis redis://127.0.0.1:6379/0 -db redis://127.0.0.1:6380/0
package main

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	echocache "github.com/strata-cache/strata/adapters/echo"
	"github.com/strata-cache/strata/examples/internal/demo"
	"github.com/strata-cache/strata/headers"
)

// getHead is what GET routes answer: echo routes HEAD apart from GET, and the demo answers
// HEAD on every GET route (a HEAD miss fills the GET entry), as the chi example does.
var getHead = []string{http.MethodGet, http.MethodHead}

// Router builds the demo API on echo behind the cache.
func Router(setup *demo.Setup, app *demo.App) http.Handler {
	cache := setup.Cache
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(recoverer, echocache.Middleware(cache))

	e.Match(getHead, "/products/:id", func(c echo.Context) error {
		return reply(c, app.GetProduct(c.Request(), c.Param("id")))
	}, echocache.Policy(demo.ProductPolicy))
	e.PUT("/products/:id", func(c echo.Context) error {
		return reply(c, app.UpdateProduct(c.Request(), c.Param("id")))
	})
	e.Match(getHead, demo.RouteProducts, func(c echo.Context) error {
		return reply(c, app.ListProducts(c.Request().Context(), c.QueryParam("category")))
	}, echocache.Policy(demo.ListPolicy))
	e.Match(getHead, demo.RouteMe, func(c echo.Context) error { return reply(c, app.Me(c.Request())) })
	e.Match(getHead, demo.RouteSlow, func(c echo.Context) error { return reply(c, app.Slow()) }, echocache.Policy(demo.SlowPolicy))
	e.Match(getHead, demo.RouteClock, func(c echo.Context) error { return reply(c, app.Clock()) }, echocache.Policy(demo.ClockPolicy))
	e.PUT("/debug/fail", func(c echo.Context) error {
		return reply(c, app.SetFail(c.QueryParam("on")))
	}, echocache.Policy(headers.NoStore()))
	e.Match(getHead, "/debug/origin", func(c echo.Context) error { return reply(c, app.Origin()) }, echocache.Policy(headers.NoStore()))
	e.POST("/admin/purge", echo.WrapHandler(cache.PurgeHandler(app.AdminToken)))
	e.Match(getHead, "/metrics", echo.WrapHandler(setup.Metrics))
	return e
}

// reply writes a demo reply with echo's own calls.
func reply(c echo.Context, rep demo.Reply) error {
	h := c.Response().Header()
	for k, vs := range rep.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if rep.Body == nil {
		return c.NoContent(rep.Status)
	}
	return c.Blob(rep.Status, rep.Header.Get("Content-Type"), rep.Body)
}

// recoverer turns a handler's panic into a 500 from echo's error handler, as echo's
// middleware.Recover does (that package needs golang.org/x/time, which Strata does not
// require).
func recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				c.Logger().Errorf("panic: %v", p)
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return next(c)
	}
}

func main() { demo.Main("echo", Router) }
