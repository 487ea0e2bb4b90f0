package core

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/strata-cache/strata/internal/redistest"
)

var debugKey = regexp.MustCompile(`key="([^"]+)"`)

// TestL2HitsCountUsableEntriesOnly: a value under an entry's key that this version cannot
// decode (garbage, another entry-format version, an empty value) is a miss for the L2 hit
// counter (strata_l2_hits_total), not one or two hits.
func TestL2HitsCountUsableEntriesOnly(t *testing.T) {
	srv := redistest.Start(t)
	if srv == nil {
		return
	}
	client := srv.Client(t)
	for _, tc := range []struct {
		name  string
		value []byte
	}{
		{"garbage", []byte("not an entry at all")},
		{"other-version", append([]byte{byte(kindEntry), entryVersion + 1}, make([]byte, 80)...)},
		{"truncated", []byte{byte(kindEntry), entryVersion, 200, 0}},
		{"empty", []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newL2Cache(t, client, Config{Namespace: "hits-" + tc.name, DisableL1: true, Debug: true})
			o := newOrigin(publicHandler("max-age=60", "fresh"))
			h := c.Middleware(o)
			w := do(t, h, "GET", "http://example.com/a")
			m := debugKey.FindStringSubmatch(w.Header().Get("Cache-Status"))
			if m == nil || !strings.Contains(w.Header().Get("Cache-Status"), "stored") {
				t.Fatalf("first request: Cache-Status %q, want stored with a key", w.Header().Get("Cache-Status"))
			}
			if err := client.Set(context.Background(), m[1], tc.value, 0).Err(); err != nil {
				t.Fatal(err)
			}

			before := c.Stats().L2
			w = do(t, h, "GET", "http://example.com/a")
			after := c.Stats().L2
			if body(w) != "fresh" || !strings.Contains(w.Header().Get("Cache-Status"), "stored") {
				t.Fatalf("over an unusable value: %q, Cache-Status %q, want a refill", body(w), w.Header().Get("Cache-Status"))
			}
			wantRuns(t, o, 2)
			if after.Hits != before.Hits {
				t.Fatalf("L2 hits went from %d to %d reading an unusable value, want no change", before.Hits, after.Hits)
			}
			if after.Misses <= before.Misses {
				t.Fatalf("L2 misses went from %d to %d reading an unusable value, want more", before.Misses, after.Misses)
			}

			// A usable entry still counts, once.
			before = c.Stats().L2
			w = do(t, h, "GET", "http://example.com/a")
			after = c.Stats().L2
			if !strings.HasPrefix(w.Header().Get("Cache-Status"), "strata; hit") {
				t.Fatalf("after the refill: Cache-Status %q, want a hit", w.Header().Get("Cache-Status"))
			}
			if after.Hits != before.Hits+1 {
				t.Fatalf("L2 hits went from %d to %d on one hit, want +1", before.Hits, after.Hits)
			}
		})
	}
}
