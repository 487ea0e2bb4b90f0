package echocache_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	echocache "github.com/strata-cache/strata/adapters/echo"
	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// A middleware in front that reads the query makes echo parse and keep it, ignored
// parameters included: they must still not reach the handler, or its answer (reflecting
// one) would be stored under the clean key and served to everyone.
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
			e := newEcho(newCache(t, tc.cfg))
			e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					_ = c.QueryParam("id") // parses and keeps the whole query
					return next(c)
				}
			})
			e.GET("/campaign", func(c echo.Context) error {
				return c.String(http.StatusOK, "id="+c.QueryParam("id")+" utm="+c.QueryParam("utm_source"))
			}, echocache.Policy(tc.policy))
			w := do(e, "GET", "/campaign?id=1&utm_source=evil")
			if b := w.Body.String(); strings.Contains(b, "evil") {
				t.Fatalf("the handler saw the ignored parameter: %q", b)
			}
			w = do(e, "GET", "/campaign?id=1")
			if b := w.Body.String(); b != "id=1 utm=" {
				t.Fatalf("clean request: got %q (%s)", b, w.Header().Get("Cache-Status"))
			}
		})
	}
}
