package main

import (
	"testing"

	"github.com/strata-cache/strata/examples/internal/demotest"
)

// The demo API's acceptance steps, shared by every example.
func TestDemoAPI(t *testing.T)             { demotest.DemoAPI(t, Router) }
func TestTwoInstancesOnRedis(t *testing.T) { demotest.TwoInstancesOnRedis(t, Router) }
func TestTwoInstancesOnMemcached(t *testing.T) {
	demotest.TwoInstancesOnMemcached(t, Router)
}
func TestHead(t *testing.T)                { demotest.Head(t, Router) }
func TestConcurrentPuts(t *testing.T)      { demotest.ConcurrentPuts(t, Router) }
func TestCacheRedisDown(t *testing.T)      { demotest.CacheRedisDown(t, Router) }
func TestCatalogueDownAtBoot(t *testing.T) { demotest.CatalogueDownAtBoot(t, Router) }
