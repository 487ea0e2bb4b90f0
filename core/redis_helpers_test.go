package core

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/store/redisstore"
)

// redisOpts are the redisstore options a test's cache gets: Prefix is the cache's namespace
// (caches given one namespace form a fleet).
type redisOpts = redisstore.Options

// withRedis returns cfg with a Redis L2 and fleet over client, closed by tb.Cleanup. The
// store's Prefix is cfg.Namespace ("strata" when empty), as a fleet of caches shares it.
func withRedis(tb testing.TB, cfg Config, client redis.UniversalClient, o redisOpts) Config {
	tb.Helper()
	if o.Prefix == "" {
		o.Prefix = cfg.Namespace
	}
	rs, err := redisstore.New(client, o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = rs.Close() })
	cfg.L2 = rs
	return cfg
}

// healthy reports whether the cache's Redis L2 breaker is closed.
func healthy(c *Cache) bool { return c.l2.(*redisstore.Store).Healthy() }

// slowTolerant is a per-call timeout for tests of semantics, not latency: a loaded machine
// must not trip the breaker.
const slowTolerant = 2 * time.Second
