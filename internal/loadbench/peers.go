package main

import (
	"net/http"
	"time"

	cache "github.com/chenyahui/gin-cache"
	"github.com/chenyahui/gin-cache/persist"
	"github.com/gin-gonic/gin"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/stampede"
	"github.com/redis/go-redis/v9"
)

// peerTTL is how long the peers keep an answer: the s-maxage of the policy the Strata rows
// declare (a shared cache's lifetime), longer than any run.
const peerTTL = time.Minute

// peerHandler returns the handler of a peer mode (what a user might pick instead of Strata),
// or nil for a mode that is not a peer. origin is the handler every server runs.
func peerHandler(mode string, origin http.HandlerFunc, rdb *redis.Client) (http.Handler, error) {
	switch mode {
	case "naive-bigcache":
		s, err := newNaiveBigcache(peerTTL)
		if err != nil {
			return nil, err
		}
		r := chi.NewRouter()
		r.Use(naiveMiddleware(s))
		r.Get(itemRoute, origin)
		return r, nil
	case "naive-redis":
		r := chi.NewRouter()
		r.Use(naiveMiddleware(naiveRedis{c: rdb, ttl: peerTTL}))
		r.Get(itemRoute, origin)
		return r, nil
	case "chi-stampede":
		// go-chi/stampede's Handler: coalesces concurrent requests for a path and keeps the
		// answers in an LRU of this many entries (more than the rotation's keys) for peerTTL.
		r := chi.NewRouter()
		r.Use(stampede.Handler(1<<14, peerTTL))
		r.Get(itemRoute, origin)
		return r, nil
	case "gin", "gin-cache":
		gin.SetMode(gin.ReleaseMode)
		e := gin.New() // no logger, no recovery: the bare router
		h := func(c *gin.Context) { origin(c.Writer, c.Request) }
		if mode == "gin" {
			e.GET("/items/:id", h)
		} else {
			e.GET("/items/:id", cache.CacheByRequestURI(persist.NewMemoryStore(peerTTL), peerTTL), h)
		}
		return e, nil
	}
	return nil, nil
}
