package gincache_test

import (
	"errors"
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
// engine, each route as r.Handle(method, path, gincache.Policy(p), gin.WrapF(h)).
// The chain is bound to the framework's pooled Context, so a refresh never runs detached.
func TestConformance(t *testing.T) { conformance.Run(t, mount, conformance.Options{}) }

// TestWire runs the suite's real-connection tests (upgrades, trailers) on gin.
func TestWire(t *testing.T) { conformance.RunWire(t, mount) }

func mount(t *testing.T, cache *core.Cache, routes []conformance.Route) http.Handler {
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
}

// TestOuterLogger runs the outer-logger row on gin: a request logger in the style of
// gin.Logger (after c.Next, the writer's status and c.Errors) in front of the cache;
// handlers attach the error with c.Error and abort with the status.
func TestOuterLogger(t *testing.T) {
	conformance.RunOuterLogger(t, func(t *testing.T, cache *core.Cache, fs []conformance.Failure, log func(conformance.Seen)) http.Handler {
		r := gin.New()
		r.Use(func(c *gin.Context) {
			c.Next()
			log(conformance.Seen{Status: c.Writer.Status(), Err: c.Errors.String()})
		})
		if cache != nil {
			r.Use(gincache.Middleware(cache))
		}
		for _, f := range fs {
			var hs []gin.HandlerFunc
			if !f.Policy.IsZero() {
				hs = append(hs, gincache.Policy(f.Policy))
			}
			hs = append(hs, func(c *gin.Context) {
				f.Ran()
				if f.Err == "" {
					c.String(f.Status, "ok")
					return
				}
				_ = c.Error(errors.New(f.Err))
				c.AbortWithStatusJSON(f.Status, gin.H{"error": f.Err})
			})
			r.GET(f.Path, hs...)
		}
		return r
	})
}
