package core

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/internal/redistest"
)

// Issue 17, item 5: with Config.EntryMACKey, a value that anyone with access to Redis wrote,
// however well formed, is never served.

// macObserver counts the L2 values that failed the MAC.
type macObserver struct {
	events
	verify atomic.Int64
}

func (o *macObserver) Error(t TierName, op Op) {
	if t == TierL2 && op == OpVerify {
		o.verify.Add(1)
	}
}

// forge rewrites the entry stored under key as an attacker with Redis access can: decoded,
// given a Set-Cookie, re-encoded with a valid checksum (and, when the value carried a MAC,
// the old MAC, which the attacker cannot recompute).
func forge(t *testing.T, raw *redis.Client, key string, macLen int) {
	t.Helper()
	ctx := context.Background()
	v, err := raw.Get(ctx, key).Bytes()
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	plain, tail := v[:len(v)-macLen], v[len(v)-macLen:]
	var e entry
	if err := decodeEntry(plain, &e); err != nil {
		t.Fatalf("decode the stored entry: %v", err)
	}
	e.fields = append(e.fields, field{"Set-Cookie", "session=attacker"})
	forged := append(e.encode(nil), tail...)
	if err := raw.Set(ctx, key, forged, 0).Err(); err != nil {
		t.Fatal(err)
	}
}

// entryKey returns the one stored entry key of namespace ns for path, and its value.
func entryKey(t *testing.T, c *Cache, path string) string {
	t.Helper()
	r, _ := http.NewRequest("GET", "http://example.com"+path, nil)
	k := keys{hash: c.hashKey(c.primary(nil, r, nil)), gen: c.gen.Load()}
	return string(c.base(nil, k))
}

func TestEntryMACForgedValue(t *testing.T) {
	srv := redistest.Start(t)
	raw := srv.Client(t)
	for _, withMAC := range []bool{false, true} {
		t.Run(map[bool]string{false: "no-mac", true: "mac"}[withMAC], func(t *testing.T) {
			cfg := Config{Namespace: "mac" + map[bool]string{false: "0", true: "1"}[withMAC], KeySecret: []byte("k")}
			n := 0
			if withMAC {
				cfg.EntryMACKey = bytes.Repeat([]byte("m"), 32)
				n = macLen
			}
			obs := &macObserver{}
			cfg.Observer = obs
			writer := newL2Cache(t, raw, cfg)
			do(t, writer.Middleware(publicHandler("max-age=60", "catalogue")), "GET", "/p")
			key := entryKey(t, writer, "/p")
			forge(t, raw, key, n)

			reader := newL2Cache(t, raw, cfg)                      // a fresh L1: it reads L2
			o := newOrigin(publicHandler("no-store", "catalogue")) // stores nothing over it
			w := do(t, reader.Middleware(o), "GET", "/p")
			cookie := w.Header().Get("Set-Cookie")
			if !withMAC {
				// The attack the MAC stops: without it, the checksum is no defence.
				if cookie != "session=attacker" {
					t.Fatalf("without a MAC key the forged entry was not served (%q); the attack test is stale", w.Header().Get("Cache-Status"))
				}
				return
			}
			if cookie != "" || !strings.Contains(w.Header().Get("Cache-Status"), "fwd=uri-miss") {
				t.Fatalf("forged entry: Set-Cookie %q, Cache-Status %q; want a miss without the cookie", cookie, w.Header().Get("Cache-Status"))
			}
			wantRuns(t, o, 1)
			if raw.Exists(context.Background(), key).Val() != 0 {
				t.Fatal("the forged value is still in Redis, want it deleted")
			}
			if obs.verify.Load() != 1 {
				t.Fatalf("%d MAC failures reported, want 1", obs.verify.Load())
			}
			if st := reader.Stats().L2; st.Unusable != 1 || st.Hits != 0 {
				t.Fatalf("L2 stats %+v, want the forged value counted unusable, not a hit", st)
			}
		})
	}
}

// TestEntryMACMovedValue: a valid value copied to another key is rejected: to another URL's
// key (the entry's own key check catches that too) and to the same URL's key under the next
// namespace generation, which would bring back an entry PurgeAll removed.
func TestEntryMACMovedValue(t *testing.T) {
	srv := redistest.Start(t)
	raw := srv.Client(t)
	ctx := context.Background()
	for _, withMAC := range []bool{false, true} {
		t.Run(map[bool]string{false: "no-mac", true: "mac"}[withMAC], func(t *testing.T) {
			cfg := Config{Namespace: "mv" + map[bool]string{false: "0", true: "1"}[withMAC], KeySecret: []byte("k")}
			if withMAC {
				cfg.EntryMACKey = bytes.Repeat([]byte("m"), 32)
			}
			v := "v1"
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				_, _ = w.Write([]byte(v))
			})
			c := newL2Cache(t, raw, cfg)
			do(t, c.Middleware(h), "GET", "/p")
			old, err := raw.Get(ctx, entryKey(t, c, "/p")).Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if err := c.PurgeAll(ctx); err != nil {
				t.Fatal(err)
			}
			v = "v2"
			// The old value, copied under the new generation's key.
			if err := raw.Set(ctx, entryKey(t, c, "/p"), old, 0).Err(); err != nil {
				t.Fatal(err)
			}
			reader := newL2Cache(t, raw, cfg)
			w := do(t, reader.Middleware(h), "GET", "/p")
			if !withMAC {
				if body(w) != "v1" {
					t.Fatalf("without a MAC key the moved entry was not served (%q); the attack test is stale", body(w))
				}
				return
			}
			if body(w) != "v2" {
				t.Fatalf("moved entry: %q (%q), want v2 from the origin", body(w), w.Header().Get("Cache-Status"))
			}
		})
	}
}

// BenchmarkEntryMAC is the check of an entry read from L2, by body size: the checksum and
// decode every L2 read does ("checksum"), plus the MAC with Config.EntryMACKey ("mac"), and
// the sealing of a write ("seal").
func BenchmarkEntryMAC(b *testing.B) {
	m := newMacer(bytes.Repeat([]byte("m"), 32))
	for _, sz := range benchSizes {
		e := benchEntry(b, benchJSON(sz.n))
		raw := e.encode(nil)
		sealed := m.seal("bench:{0123456789abcdef}:0:v", raw)
		b.Run(sz.name+"/checksum", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				var e entry
				if _, ok := usableEntry(raw, &e); !ok {
					b.Fatal("unusable")
				}
			}
		})
		b.Run(sz.name+"/mac", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				plain, ok := m.open("bench:{0123456789abcdef}:0:v", sealed)
				var e entry
				if _, usable := usableEntry(plain, &e); !ok || !usable {
					b.Fatal("rejected")
				}
			}
		})
		b.Run(sz.name+"/seal", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				_ = m.seal("bench:{0123456789abcdef}:0:v", raw)
			}
		})
	}
}

func TestEntryMACKeyTooShort(t *testing.T) {
	if _, err := New(Config{EntryMACKey: []byte("short")}); err == nil || !strings.Contains(err.Error(), "EntryMACKey") {
		t.Fatalf("New with a 5-byte EntryMACKey = %v, want an error naming it", err)
	}
}
