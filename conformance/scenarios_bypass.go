package conformance

// upgradeHeader is a WebSocket upgrade request's fields.
var upgradeHeader = []string{"Connection: Upgrade", "Upgrade: websocket"}

// bypassUpgrade is the Cache-Status of a request the cache passed through as an upgrade.
const bypassUpgrade = "strata; fwd=bypass; detail=upgrade" //nolint:gosec // G101: a Cache-Status value, not a credential

// bypassScenarios: requests the cache never handles (protocol upgrades) go to the handler
// without lookup, coalescing or storage. Handlers here answer them like plain GETs (as a
// server that does not take the upgrade does); RunWire checks upgrades that switch.
func bypassScenarios() []Scenario {
	return []Scenario{
		{
			Name:   "bypass/upgrade-not-looked-up",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("v1")}, Runs: Runs{"/a": 1}},
				{Note: "a stored answer never answers an upgrade", Path: "/a", Header: upgradeHeader, Status: 200,
					Want: []Check{CacheStatus(bypassUpgrade), Body("v2"), HeaderAbsent("Age")}, Runs: Runs{"/a": 2}},
				{Note: "nor does the upgrade's answer replace it", Path: "/a", Status: 200, Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "bypass/upgrade-not-stored",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60"))},
			Steps: []Step{
				{Path: "/a", Header: upgradeHeader, Status: 200, Want: []Check{CacheStatus(bypassUpgrade), Body("v1")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Status: 200, Want: []Check{CacheStatus(missStored60), Body("v2")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name:   "bypass/upgrade-not-coalesced",
			Routes: []Route{get("/a", slow(slowFor/2, "Cache-Control: max-age=60"))},
			Steps: []Step{
				{Note: "concurrent upgrades each reach the handler, none waits for another", Path: "/a", Header: upgradeHeader, Parallel: 4, Status: 200,
					Want: []Check{CacheStatus(bypassUpgrade)}, Runs: Runs{"/a": 4}},
			},
		},
		{
			Name:   "bypass/upgrade-connection-list",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60"))},
			Steps: []Step{
				{Note: "the upgrade option among others, in any case", Path: "/a",
					Header: []string{"Connection: keep-alive", "Connection: HTTP2-Settings, UPGRADE", "Upgrade: h2c"}, Status: 200,
					Want: []Check{CacheStatus(bypassUpgrade), Body("v1")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "bypass/upgrade-field-alone",
			Routes: []Route{get("/a", versioned("Cache-Control: max-age=60"))},
			Steps: []Step{
				{Note: "Upgrade without the connection option is no upgrade request", Path: "/a", Header: []string{"Upgrade: websocket"}, Status: 200,
					Want: []Check{CacheStatus(missStored60), Body("v1")}, Runs: Runs{"/a": 1}},
				{Path: "/a", Header: []string{"Upgrade: websocket"}, Status: 200, Want: []Check{CacheStatus(hit60), Body("v1")}, Runs: Runs{"/a": 1}},
			},
		},
		{
			Name:   "bypass/cache-status-last",
			Routes: []Route{get("/a", respond(426, "upgrade refused", "Cache-Status: upstream; fwd=uri-miss"))},
			Steps: []Step{
				{Note: "RFC 9211 §2: the upstream cache's member first, then this cache's", Path: "/a", Header: upgradeHeader, Status: 426,
					Want: []Check{HeaderValues("Cache-Status", "upstream; fwd=uri-miss", bypassUpgrade), Body("upgrade refused")}, Runs: Runs{"/a": 1}},
			},
		},
	}
}
