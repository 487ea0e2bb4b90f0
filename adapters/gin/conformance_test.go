package gincache_test

import (
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/gin-gonic/gin"

	gincache "github.com/strata-cache/strata/adapters/gin"
	"github.com/strata-cache/strata/conformance"
	"github.com/strata-cache/strata/core"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// TestConformance runs the adapter suite on gin: gin's Recovery and the cache on the
// engine, each route as r.Handle(method, path, gincache.Policy(p), gin.WrapF(h)). The chain
// is bound to gin's pooled Context, so a refresh never runs detached.
func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T, cache *core.Cache, routes []conformance.Route) http.Handler {
		r := gin.New()
		r.Use(gin.RecoveryWithWriter(io.Discard), gincache.Middleware(cache))
		for _, rt := range routes {
			var hs []gin.HandlerFunc
			if !rt.Policy.IsZero() {
				hs = append(hs, gincache.Policy(rt.Policy))
			}
			hs = append(hs, gin.WrapF(rt.Handler))
			for _, m := range rt.Methods() {
				r.Handle(m, rt.Path, hs...)
			}
		}
		return r
	}, conformance.Options{})
}
