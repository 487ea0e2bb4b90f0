// Command gin serves the demo API (README.md, "The demo API") on gin with Strata in front:
//
//	go run ./examples/gin                      # L1 only, on 127.0.0.1:8080
//	go run ./examples/gin -redis redis://127.0.0.1:6379/0     # catalogue in database 1 of it
//	go run ./examples/gin -redis redis://127.0.0.1:6379/0 -db redis://127.0.0.1:6380/0
package main

import (
	"net/http"
	"os"

	"github.com/gin-gonic/gin"

	gincache "github.com/strata-cache/strata/adapters/gin"
	"github.com/strata-cache/strata/examples/internal/demo"
	"github.com/strata-cache/strata/headers"
)

// getHead is what GET routes answer: gin routes HEAD apart from GET, and the demo answers
// HEAD on every GET route (a HEAD miss fills the GET entry), as the chi example does.
var getHead = []string{http.MethodGet, http.MethodHead}

// Router builds the demo API on gin behind the cache.
func Router(setup *demo.Setup, app *demo.App) http.Handler {
	cache := setup.Cache
	r := gin.New()
	r.Use(gin.Recovery(), gincache.Middleware(cache))

	r.Match(getHead, "/products/:id", gincache.Policy(demo.ProductPolicy), func(c *gin.Context) {
		reply(c, app.GetProduct(c.Request, c.Param("id")))
	})
	r.PUT("/products/:id", func(c *gin.Context) {
		reply(c, app.UpdateProduct(c.Request, c.Param("id")))
	})
	r.Match(getHead, demo.RouteProducts, gincache.Policy(demo.ListPolicy), func(c *gin.Context) {
		reply(c, app.ListProducts(c.Request.Context(), c.Query("category")))
	})
	r.Match(getHead, demo.RouteMe, func(c *gin.Context) { reply(c, app.Me(c.Request)) })
	r.Match(getHead, demo.RouteSlow, gincache.Policy(demo.SlowPolicy), func(c *gin.Context) { reply(c, app.Slow()) })
	r.Match(getHead, demo.RouteClock, gincache.Policy(demo.ClockPolicy), func(c *gin.Context) { reply(c, app.Clock()) })
	r.PUT("/debug/fail", gincache.Policy(headers.NoStore()), func(c *gin.Context) {
		reply(c, app.SetFail(c.Query("on")))
	})
	r.Match(getHead, "/debug/origin", gincache.Policy(headers.NoStore()), func(c *gin.Context) { reply(c, app.Origin()) })
	r.POST("/admin/purge", gin.WrapH(cache.PurgeHandler(app.AdminToken)))
	r.Match(getHead, "/metrics", gin.WrapH(setup.Metrics))
	return r
}

// reply writes a demo reply with gin's own calls.
func reply(c *gin.Context, rep demo.Reply) {
	for k, vs := range rep.Header {
		if len(vs) > 0 {
			c.Header(k, vs[0])
			for _, v := range vs[1:] {
				c.Writer.Header().Add(k, v)
			}
		}
	}
	if rep.Body == nil {
		c.Status(rep.Status)
		return
	}
	c.Data(rep.Status, rep.Header.Get("Content-Type"), rep.Body)
}

func main() {
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode)
	}
	demo.Main("gin", Router)
}
