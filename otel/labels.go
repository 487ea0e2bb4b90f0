package strataotel

import (
	"go.opentelemetry.io/otel/attribute"

	"github.com/strata-cache/strata/core"
)

// This file is the one place where core's labels (core.TierName, core.Op, core.PurgeKind,
// core.Reason) become attribute values.
type (
	tierName  = core.TierName  // core.Event.Tier, core.Observer.Error's tier
	opName    = core.Op        // core.Observer.Error's op
	purgeKind = core.PurgeKind // core.Observer.Purge's kind
)

// Attribute keys, on span events, child spans and metrics alike.
const (
	AttrResult   = attribute.Key("strata.cache.result")    // how the cache answered: hit, miss, bypass, …
	AttrTier     = attribute.Key("strata.cache.tier")      // the tier a stored answer came from: l1, l2
	AttrStored   = attribute.Key("strata.cache.stored")    // the response was stored
	AttrReason   = attribute.Key("strata.cache.reason")    // why it was not stored, or bypassed
	AttrKey      = attribute.Key("strata.cache.key")       // the request's key hash (hex)
	AttrRoute    = attribute.Key("strata.cache.route")     // the route pattern
	AttrStatus   = attribute.Key("strata.cache.status")    // the status sent to the client
	AttrOriginMS = attribute.Key("strata.cache.origin_ms") // time in the handler, in milliseconds
	AttrOp       = attribute.Key("strata.cache.op")        // a store error's operation: get, set, …
	AttrKind     = attribute.Key("strata.cache.purge.kind")
	AttrOutcome  = attribute.Key("strata.cache.outcome") // a coalesced waiter's: served, fallthrough
	AttrState    = attribute.Key("strata.cache.breaker.state")
)

// Route labels for requests without a route pattern and for routes past Options.MaxRoutes,
// as in the metrics package.
const (
	RouteUnknown = "unknown"
	RouteOther   = "other"
)

// numResults is the number of core.Result values (bypass … collapsed).
const numResults = int(core.ResultCollapsed) + 1

// resultAttrs are the result attributes, built once.
var resultAttrs = func() (a [numResults]attribute.KeyValue) {
	for r := range a {
		a[r] = AttrResult.String(core.Result(r).String())
	}
	return a
}()

// resultAttr is the attribute of a result, a known one without building it.
func resultAttr(r core.Result) attribute.KeyValue {
	if int(r) < numResults {
		return resultAttrs[r]
	}
	return AttrResult.String(r.String())
}

// Tiers a request's answer can come from: none (the handler ran), l1 or l2.
const numTiers = 3

// tierIndex maps a tier to its slot in a route's precomputed attribute sets; -1 for a tier
// this package does not know (labelled all the same, on a slower path).
func tierIndex(t tierName) int {
	switch string(t) {
	case "":
		return 0
	case "l1":
		return 1
	case "l2":
		return 2
	}
	return -1
}

func tierLabel(t tierName) string      { return string(t) }
func opLabel(op opName) string         { return string(op) }
func kindLabel(k purgeKind) string     { return string(k) }
func reasonLabel(r core.Reason) string { return string(r) }
func outcomeLabel(served bool) string {
	if served {
		return "served"
	}
	return "fallthrough"
}
