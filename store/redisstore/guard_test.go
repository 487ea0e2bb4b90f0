package redisstore_test

import (
	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/store/redisstore"
)

// A Store is both of core's interfaces: the L2 tier and the fleet.
var (
	_ core.Tier  = (*redisstore.Store)(nil)
	_ core.Fleet = (*redisstore.Store)(nil)
)
