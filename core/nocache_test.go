package core

import (
	"strings"
	"testing"
)

// §5.2.2.4: an unqualified no-cache response is stored to be revalidated on every use, with
// its validator; the stale-if-error it may carry never serves it unrevalidated. Without a
// way to keep stale entries (Keep off) it is not stored.
func TestResponseNoCache(t *testing.T) {
	for _, keep := range []bool{true, false} {
		cfg := Config{}
		if !keep {
			cfg.Keep = -1
		}
		c, _ := newTestCache(t, cfg)
		var cond int
		o := validated("no-cache, max-age=60, stale-if-error=600", &cond)
		h := c.Middleware(o)
		w := do(t, h, "GET", "/a")
		if cs := w.Header().Get("Cache-Status"); keep != strings.Contains(cs, "stored") {
			t.Fatalf("keep %v: Cache-Status %q", keep, cs)
		}
		for i := range 3 {
			w = do(t, h, "GET", "/a")
			if body(w) != "body" {
				t.Fatalf("keep %v, request %d: body %q", keep, i+2, body(w))
			}
		}
		wantRuns(t, o, 4)
		if keep && cond != 3 {
			t.Fatalf("conditional requests: %d, want every use revalidated", cond)
		}
		if !keep && cond != 0 {
			t.Fatalf("keep off: %d conditional requests, want none (nothing stored)", cond)
		}
	}
}
