package core

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// RFC 9213 §2.1: a targeted field this cache is configured for replaces Cache-Control and
// Expires for its decisions, when valid and non-empty; it is forwarded, and a cache not
// configured for it ignores it.
func TestTargetedFields(t *testing.T) {
	tests := []struct {
		name     string
		fields   []string // Config.TargetedFields
		hdr      []string
		advance  time.Duration
		wantHits bool // the second request, after advance, is a hit
	}{
		{"cdn max-age over no-store", []string{"CDN-Cache-Control"},
			[]string{"Cache-Control: no-store", "CDN-Cache-Control: max-age=600"}, time.Minute, true},
		{"cdn no-store over max-age", []string{"CDN-Cache-Control"},
			[]string{"Cache-Control: max-age=600", "CDN-Cache-Control: no-store"}, 0, false},
		{"cdn private over max-age", []string{"CDN-Cache-Control"},
			[]string{"Cache-Control: max-age=600", "CDN-Cache-Control: private"}, 0, false},
		{"cdn short max-age wins", []string{"CDN-Cache-Control"},
			[]string{"Cache-Control: max-age=3600", "CDN-Cache-Control: max-age=1"}, 2 * time.Second, false},
		{"cdn max-age over past Expires", []string{"CDN-Cache-Control"},
			[]string{"CDN-Cache-Control: max-age=600", "Expires: Thu, 01 Jan 1970 00:00:00 GMT"}, time.Minute, true},
		{"invalid cdn field ignored", []string{"CDN-Cache-Control"},
			[]string{"Cache-Control: no-store", "CDN-Cache-Control: max-age=600, &&&"}, 0, false},
		{"wrong type ignored", []string{"CDN-Cache-Control"},
			[]string{"Cache-Control: max-age=600", `CDN-Cache-Control: max-age="1"`}, time.Minute, true},
		{"first listed field wins", []string{"Strata-Cache-Control", "CDN-Cache-Control"},
			[]string{"CDN-Cache-Control: no-store", "Strata-Cache-Control: max-age=600"}, time.Minute, true},
		{"not configured: ignored", nil,
			[]string{"Cache-Control: no-store", "CDN-Cache-Control: max-age=600"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, clk := newTestCache(t, Config{TargetedFields: tt.fields})
			o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
				for _, kv := range tt.hdr {
					k, v, _ := strings.Cut(kv, ":")
					w.Header().Add(k, strings.TrimSpace(v))
				}
				_, _ = w.Write([]byte("body"))
			})
			h := c.Middleware(o)
			w := do(t, h, "GET", "/a")
			for _, kv := range tt.hdr { // forwarded as the origin sent it
				k, v, _ := strings.Cut(kv, ":")
				if got := w.Header().Get(k); got != strings.TrimSpace(v) {
					t.Fatalf("%s: got %q, want %q", k, got, strings.TrimSpace(v))
				}
			}
			clk.Advance(tt.advance)
			w = do(t, h, "GET", "/a")
			if hit := strings.Contains(w.Header().Get("Cache-Status"), "hit"); hit != tt.wantHits {
				t.Fatalf("second request: Cache-Status %q, want hit %v", w.Header().Get("Cache-Status"), tt.wantHits)
			}
		})
	}
}

func TestTargetedFieldsValidate(t *testing.T) {
	for _, bad := range []string{"Cache-Control", "", "a b"} {
		if _, err := New(Config{TargetedFields: []string{bad}}); err == nil {
			t.Errorf("TargetedFields %q: no error", bad)
		}
	}
	in := []string{"cdn-cache-control"}
	c, err := New(Config{TargetedFields: in})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if in[0] != "cdn-cache-control" || c.cfg.TargetedFields[0] != "Cdn-Cache-Control" {
		t.Fatalf("names: caller's %q, cache's %q", in, c.cfg.TargetedFields)
	}
}
