package core

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// Config.StaleIfError: a stale entry is served when the origin fails (RFC 9111 §4.2.4: the
// operator's leave to serve stale), as a response's own stale-if-error would (RFC 5861 §4),
// unless the response forbids stale (must-revalidate, proxy-revalidate, no-cache, s-maxage)
// or sets its own window; off by default.
func TestStaleIfErrorDefault(t *testing.T) {
	tests := []struct {
		name      string
		cfg       time.Duration
		cc        string
		after     time.Duration // past storage, with the origin failing
		wantStale bool
	}{
		{"default window", time.Minute, "max-age=2", 30 * time.Second, true},
		{"past the window", time.Minute, "max-age=2", 2 * time.Minute, false},
		{"off by default", 0, "max-age=2", 30 * time.Second, false},
		{"must-revalidate", time.Minute, "max-age=2, must-revalidate", 30 * time.Second, false},
		{"proxy-revalidate", time.Minute, "max-age=2, proxy-revalidate", 30 * time.Second, false},
		{"s-maxage", time.Minute, "max-age=2, s-maxage=2", 30 * time.Second, false},
		{"no-cache", time.Minute, "max-age=2, no-cache", 30 * time.Second, false},
		{"response's shorter window wins", time.Hour, "max-age=2, stale-if-error=10", 30 * time.Second, false},
		{"response's zero window wins", time.Hour, "max-age=2, stale-if-error=0", 30 * time.Second, false},
		{"response's longer window wins", time.Second, "max-age=2, stale-if-error=600", 30 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, clk := newTestCache(t, Config{StaleIfError: tt.cfg})
			var failing atomic.Bool
			o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
				if failing.Load() {
					w.WriteHeader(http.StatusBadGateway) // what a proxy answers for an unreachable upstream
					return
				}
				w.Header().Set("Cache-Control", tt.cc)
				_, _ = w.Write([]byte("v1"))
			})
			h := c.Middleware(o)
			do(t, h, "GET", "/a")
			clk.Advance(tt.after)
			failing.Store(true)
			w := do(t, h, "GET", "/a")
			if stale := w.Code == 200 && body(w) == "v1"; stale != tt.wantStale {
				t.Fatalf("got %d %q (%q), want stale %v", w.Code, body(w), w.Header().Get("Cache-Status"), tt.wantStale)
			}
			if tt.wantStale {
				wantCacheStatus(t, w, "strata; fwd=stale; fwd-status=502; ttl="+itoa(int(-(tt.after-2*time.Second)/time.Second))+"; detail=stale-if-error")
			}
		})
	}
}
