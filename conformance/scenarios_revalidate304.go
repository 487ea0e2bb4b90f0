package conformance

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/strata-cache/strata/core"
)

// revalidate304Scenarios: a 304 answering the cache's revalidation updates the stored response
// only when it selects it, and a client that sent no precondition never gets a 304
// (RFC 9111 §4.3.3–§4.3.4).
func revalidate304Scenarios() []Scenario {
	return []Scenario{
		{
			Name: "revalidate/304-unstorable-full-answer",
			Routes: []Route{get("/a", func() http.HandlerFunc {
				var n atomic.Int64
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Etag", `"v1"`)
					if n.Add(1) == 1 || r.Header.Get("If-None-Match") == "" {
						w.Header().Set("Cache-Control", "max-age=1")
						_, _ = w.Write([]byte("body1"))
						return
					}
					// The revalidation's 304 makes the freshened response unstorable.
					w.Header().Set("Cache-Control", "no-store")
					w.WriteHeader(http.StatusNotModified)
				}
			}())},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{Body("body1")}},
				{Note: "§4.3.4: the client sent no precondition, so it gets the whole response, not the 304", Advance: 5 * time.Second,
					Path: "/a", Status: 200, Want: []Check{Body("body1"), Header("Cache-Control", "no-store"), HeaderContains("Cache-Status", "fwd=stale")},
					Runs: Runs{"/a": 2}},
				{Note: "the stored response now says no-store: it is gone", Path: "/a", Status: 200,
					Want: []Check{HeaderContains("Cache-Status", "fwd=uri-miss")}, Runs: Runs{"/a": 3}},
			},
		},
		{
			Name: "revalidate/304-unstorable-client-precondition",
			Routes: []Route{get("/a", func() http.HandlerFunc {
				var n atomic.Int64
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Etag", `"v1"`)
					if n.Add(1) == 1 {
						w.Header().Set("Cache-Control", "max-age=1")
						_, _ = w.Write([]byte("body1"))
						return
					}
					w.Header().Set("Cache-Control", "private")
					w.WriteHeader(http.StatusNotModified)
				}
			}())},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{Body("body1")}},
				{Note: "a client whose own precondition matches gets a 304", Advance: 5 * time.Second, Path: "/a",
					Header: []string{`If-None-Match: "v1"`}, Status: http.StatusNotModified, Want: []Check{Body("")}, Runs: Runs{"/a": 2}},
			},
		},
		{
			Name: "revalidate/304-other-etag-refetches",
			Routes: []Route{get("/a", func() http.HandlerFunc {
				var n atomic.Int64
				return func(w http.ResponseWriter, r *http.Request) {
					run := n.Add(1)
					w.Header().Set("Cache-Control", "max-age=1")
					if r.Header.Get("If-None-Match") != "" {
						// A 304 naming another representation: it selects nothing stored.
						w.Header().Set("Etag", `"v2"`)
						w.WriteHeader(http.StatusNotModified)
						return
					}
					w.Header().Set("Etag", fmt.Sprintf(`"v%d"`, min(run, 2)))
					_, _ = fmt.Fprintf(w, "body%d", min(run, 2))
				}
			}())},
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{Body("body1"), Header("Etag", `"v1"`)}},
				{Note: "§4.3.4: the 304's validator is not the stored one's: nothing is updated; the cache fetches again, unconditionally",
					Advance: 5 * time.Second, Path: "/a", Status: 200, Want: []Check{Body("body2"), Header("Etag", `"v2"`)}, Runs: Runs{"/a": 3}},
				{Path: "/a", Status: 200, Want: []Check{Body("body2"), HeaderContains("Cache-Status", "hit")}, Runs: Runs{"/a": 3}},
			},
		},
		{
			Name: "revalidate/304-to-unconditional-refetches",
			Routes: []Route{get("/a", func() http.HandlerFunc {
				var n atomic.Int64
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "max-age=1, stale-if-error=60") // kept while stale
					switch n.Add(1) {
					case 1:
						_, _ = w.Write([]byte("body1")) // no validator: revalidation is unconditional
					case 2:
						w.WriteHeader(http.StatusNotModified) // answers a request that asked nothing
					default:
						_, _ = w.Write([]byte("body3"))
					}
				}
			}())},
			Config: func(c *core.Config) { c.DisableAutoETag = true },
			Steps: []Step{
				{Path: "/a", Status: 200, Want: []Check{Body("body1")}},
				{Note: "a 304 to an unconditional request selects nothing: fetched again", Advance: 5 * time.Second, Path: "/a",
					Status: 200, Want: []Check{Body("body3")}, Runs: Runs{"/a": 3}},
			},
		},
	}
}
