package core

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// validated answers max-age=60 with an ETag, a 304 to a matching If-None-Match, and counts
// the conditional requests.
func validated(cc string, conditional *int) *origin {
	return newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cc)
		w.Header().Set("Etag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			*conditional++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte("body"))
	})
}

// §5.2.1.3: with HonorRequestNoCache, a request's min-fresh=N treats an entry with less than
// N seconds of freshness left as stale: it is revalidated.
func TestRequestMinFresh(t *testing.T) {
	for _, honor := range []bool{false, true} {
		c, clk := newTestCache(t, Config{HonorRequestNoCache: honor})
		var cond int
		o := validated("max-age=60", &cond)
		h := c.Middleware(o)
		do(t, h, "GET", "/a")
		clk.Advance(40 * time.Second) // 20 s left
		w := do(t, h, "GET", "/a", "Cache-Control: min-fresh=10")
		if cs := w.Header().Get("Cache-Status"); !strings.HasPrefix(cs, "strata; hit") || body(w) != "body" {
			t.Fatalf("honor %v: min-fresh=10 with 20 s left: Cache-Status %q, want a hit", honor, cs)
		}
		w = do(t, h, "GET", "/a", "Cache-Control: min-fresh=30")
		cs := w.Header().Get("Cache-Status")
		if !honor {
			if !strings.HasPrefix(cs, "strata; hit") {
				t.Fatalf("min-fresh ignored by default: Cache-Status %q, want a hit", cs)
			}
			wantRuns(t, o, 1)
			continue
		}
		if body(w) != "body" || cond != 1 || !strings.Contains(cs, "fwd=request") || !strings.Contains(cs, "fwd-status=304") {
			t.Fatalf("min-fresh=30 with 20 s left: Cache-Status %q, %d conditional requests; want one revalidation", cs, cond)
		}
		w = do(t, h, "GET", "/a")
		if cs := w.Header().Get("Cache-Status"); cs != "strata; hit; ttl=60" {
			t.Fatalf("after the revalidation: Cache-Status %q, want the freshened entry", cs)
		}
		wantRuns(t, o, 2)
	}
}

// §5.2.1.2: with HonorRequestNoCache, max-stale[=N] lets this request have a stale entry
// (stale by at most N seconds) without revalidation, unless the entry forbids serving stale.
func TestRequestMaxStale(t *testing.T) {
	for _, tt := range []struct {
		name   string
		cc     string
		honor  bool
		req    string
		served bool // stale, unrevalidated
	}{
		{"within max-stale", "max-age=60", true, "max-stale=30", true},
		{"max-stale without a bound", "max-age=60", true, "max-stale", true},
		{"beyond max-stale", "max-age=60", true, "max-stale=5", false},
		{"ignored by default", "max-age=60", false, "max-stale=30", false},
		{"must-revalidate forbids it", "max-age=60, must-revalidate", true, "max-stale", false},
		{"proxy-revalidate forbids it", "max-age=60, proxy-revalidate", true, "max-stale", false},
		{"s-maxage forbids it in a shared cache", "s-maxage=60", true, "max-stale", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, clk := newTestCache(t, Config{HonorRequestNoCache: tt.honor})
			var cond int
			o := validated(tt.cc, &cond)
			h := c.Middleware(o)
			do(t, h, "GET", "/a")
			clk.Advance(70 * time.Second) // stale by 10 s
			w := do(t, h, "GET", "/a", "Cache-Control: "+tt.req)
			cs := w.Header().Get("Cache-Status")
			if body(w) != "body" {
				t.Fatalf("body %q", body(w))
			}
			if tt.served {
				if cs != "strata; hit; ttl=-10; detail=max-stale" || o.runs.Load() != 1 {
					t.Fatalf("Cache-Status %q, %d runs; want the stale entry, unrevalidated", cs, o.runs.Load())
				}
				return
			}
			if o.runs.Load() != 2 || cond != 1 || !strings.Contains(cs, "fwd=stale") {
				t.Fatalf("Cache-Status %q, %d runs, %d conditional; want a revalidation", cs, o.runs.Load(), cond)
			}
		})
	}
}
