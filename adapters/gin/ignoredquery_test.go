package gincache_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	gincache "github.com/strata-cache/strata/adapters/gin"
	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// A middleware in front that reads the query makes gin parse and keep it, ignored parameters
// included: they must still not reach the handler, or its answer (reflecting one) would be
// stored under the clean key and served to everyone.
func TestIgnoredQueryHiddenFromContext(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    core.Config
		policy headers.Policy
	}{
		{"config", core.Config{IgnoreQuery: []string{"utm_source"}}, headers.Public(time.Minute)},
		{"route policy", core.Config{}, headers.Public(time.Minute).IgnoreQuery("utm_source")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gin.SetMode(gin.TestMode)
			r := gin.New()
			r.Use(func(c *gin.Context) {
				_ = c.Query("id") // parses and keeps the whole query
				c.Next()
			}, gincache.Middleware(newCache(t, tc.cfg)))
			r.GET("/campaign", gincache.Policy(tc.policy), func(c *gin.Context) {
				c.String(http.StatusOK, "id="+c.Query("id")+" utm="+c.Query("utm_source"))
			})
			w := do(r, "GET", "/campaign?id=1&utm_source=evil")
			if b := w.Body.String(); strings.Contains(b, "evil") {
				t.Fatalf("the handler saw the ignored parameter: %q", b)
			}
			w = do(r, "GET", "/campaign?id=1")
			if b := w.Body.String(); b != "id=1 utm=" {
				t.Fatalf("clean request: got %q (%s)", b, w.Header().Get("Cache-Status"))
			}
		})
	}
}
