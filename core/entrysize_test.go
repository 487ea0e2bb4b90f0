package core

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-cache/strata/internal/redistest"
)

// fieldsHandler answers a small cacheable body with n bytes of header fields, tagged "big".
func fieldsHandler(n int) http.HandlerFunc {
	const per = 8 << 10
	v := strings.Repeat("v", per)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Surrogate-Key", "big")
		for i := 0; i < n/per; i++ {
			w.Header().Set("X-Pad-"+strconv.Itoa(i), v)
		}
		_, _ = io.WriteString(w, "small body")
	}
}

// TestEntryTooLargeForEveryTier: an entry whose header fields (3 MB) make it larger than
// MaxEntryBytes is stored in no tier, L1 nor Redis, and says why; one under the bound is
// stored in both.
func TestEntryTooLargeForEveryTier(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	ctx := context.Background()
	c := newL2Cache(t, client, Config{Namespace: "big"})
	redisKeys := func() []string {
		t.Helper()
		keys, err := client.Keys(ctx, "big:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		// The namespace generation and the key secret are not entries.
		return slices.DeleteFunc(keys, func(k string) bool { return k == "big:gen" || k == "big:secret" })
	}

	big := newOrigin(fieldsHandler(3 << 20))
	h := c.Middleware(big)
	w := do(t, h, "GET", "/big")
	wantStatus(t, w, http.StatusOK)
	if cs := w.Header().Get("Cache-Status"); !strings.Contains(cs, "detail=too-large") || strings.Contains(cs, "stored") {
		t.Fatalf("Cache-Status %q: want a miss with detail=too-large, not stored", cs)
	}
	if len(w.Header()["X-Pad-0"]) == 0 || body(w) != "small body" {
		t.Fatal("the client did not get the whole answer")
	}
	if n := c.l1.Len(); n != 0 {
		t.Fatalf("L1 holds %d entries after a 3 MB entry was refused", n)
	}
	if keys := redisKeys(); len(keys) != 0 {
		t.Fatalf("Redis holds %q after a 3 MB entry was refused", keys)
	}
	do(t, h, "GET", "/big")
	wantRuns(t, big, 2)

	// Under the bound (MaxBodyBytes + 64 KiB): stored in both tiers.
	small := newOrigin(fieldsHandler(48 << 10))
	h = c.Middleware(small)
	wantStatus(t, do(t, h, "GET", "/small"), http.StatusOK)
	if n := c.l1.Len(); n != 1 {
		t.Fatalf("L1 holds %d entries after a 48 KiB entry was stored, want 1", n)
	}
	if keys := redisKeys(); len(keys) == 0 {
		t.Fatal("Redis holds nothing after a 48 KiB entry was stored")
	}
	do(t, h, "GET", "/small")
	wantRuns(t, small, 1)
}

// TestMaxEntryBytes: the bound counts the fields, not only the body, and is configurable.
func TestMaxEntryBytes(t *testing.T) {
	c, _ := newTestCache(t, Config{MaxEntryBytes: 32 << 10})
	o := newOrigin(fieldsHandler(40 << 10))
	h := c.Middleware(o)
	if cs := do(t, h, "GET", "/a").Header().Get("Cache-Status"); !strings.Contains(cs, "detail=too-large") {
		t.Fatalf("Cache-Status %q, want detail=too-large", cs)
	}
	if n := c.l1.Len(); n != 0 {
		t.Fatalf("L1 holds %d entries", n)
	}
	if keys, _, _ := c.local.tags.size(); keys != 0 {
		t.Fatalf("the tag index holds %d keys of a refused entry", keys)
	}
	if _, err := New(Config{MaxEntryBytes: -1}); err == nil {
		t.Fatal("New accepted a negative MaxEntryBytes")
	}
	if cfg, _ := (Config{}).withDefaults(); cfg.MaxEntryBytes != 1<<20+64<<10 || cfg.TagIndexBytes != 8<<20 {
		t.Fatalf("defaults: MaxEntryBytes %d, TagIndexBytes %d", cfg.MaxEntryBytes, cfg.TagIndexBytes)
	}
}

// TestEntryRoundTrip: every field of an entry survives encode and decode, whichever of the
// compact forms (common names, ETag taken from its field, variant hash) applies.
func TestEntryRoundTrip(t *testing.T) {
	base := entry{
		status: 203, flags: flagNoStale | flagSMaxAge, storedAt: 1_700_000_000_123_456_789,
		initAge: 3e9, fresh: 60e9, swr: 30e9, sie: -1, expires: 1_700_000_000_123_456_789 + 95e9,
		recompute: 12345, lastMod: 1_600_000_000, key: "G4:http9:localhost5:/a?b", route: "/a",
		tags: []string{"t1", "t2"}, stamps: []string{"s1", ""}, body: []byte("body"),
	}
	for _, tc := range []struct {
		name    string
		change  func(*entry)
		encoded func(t *testing.T, b []byte)
	}{
		{"etag from its field", func(e *entry) {
			e.etag = `"v1"`
			e.fields = []field{{"Content-Type", "text/plain"}, {"Etag", `"v1"`}, {"X-Own", "1"}}
		}, func(t *testing.T, b []byte) {
			if n := strings.Count(string(b), `"v1"`); n != 1 {
				t.Errorf("ETag stored %d times, want once", n)
			}
			if strings.Contains(string(b), "Content-Type") || !strings.Contains(string(b), "X-Own") {
				t.Errorf("common names spelt out or others lost: %q", b)
			}
		}},
		{"etag without its field", func(e *entry) { e.etag = `W/"v2"` }, nil},
		{"etag differing from its field", func(e *entry) {
			e.etag = `"a"`
			e.fields = []field{{"Etag", `"b"`}}
		}, nil},
		{"variant and vary key", func(e *entry) { e.variant, e.vkey = 0xfedcba9876543210, "gzip" }, nil},
		{"no expiry, negative", func(e *entry) { e.expires, e.flags = 0, flagNegative }, nil},
		{"empty etag field", func(e *entry) { e.fields = []field{{"Etag", ""}, {"Content-Encoding", "br"}} }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			tc.change(&e)
			b := e.encode(nil)
			if len(b) > e.size() {
				t.Fatalf("encoded %d bytes, size() bound %d", len(b), e.size())
			}
			if tc.encoded != nil {
				tc.encoded(t, b)
			}
			var got entry
			if err := decodeEntry(b, &got); err != nil {
				t.Fatal(err)
			}
			want := e
			want.ce = want.first("Content-Encoding")
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
			if !intact(b) {
				t.Fatal("checksum")
			}
		})
	}
}

// TestCommonFields: every common field name maps to its own index (the fast cases of
// commonField agree with the table), names are unique and canonical, and others map to -1.
func TestCommonFields(t *testing.T) {
	for i, name := range commonFields {
		if got := commonField(name); got != i {
			t.Errorf("commonField(%q) = %d, want %d", name, got, i)
		}
		if c := http.CanonicalHeaderKey(name); c != name {
			t.Errorf("%q is not canonical (%q): a handler's field would never match it", name, c)
		}
	}
	for _, name := range []string{"", "etag", "ETag", "X-Other", "Cache-Controls"} {
		if got := commonField(name); got != -1 {
			t.Errorf("commonField(%q) = %d, want -1", name, got)
		}
	}
}

// TestEntryFieldNameCodes: a stored value whose field name is an unknown code or an empty
// literal is corrupt (a miss), never a field with a made-up or empty name.
func TestEntryFieldNameCodes(t *testing.T) {
	e := entry{status: 200, storedAt: 1, fresh: 1e9, key: "G4:http", body: []byte("b"),
		fields: []field{{"X-A", "1"}}}
	good := e.encode(nil)
	at := bytes.Index(good, []byte("X-A")) - 1 // the literal name's length byte (3<<1)
	if at < 0 || good[at] != 3<<1 {
		t.Fatalf("layout changed: %q", good)
	}
	for name, mutate := range map[string]func(b []byte){
		"unknown code":       func(b []byte) { b[at] = byte(len(commonFields))<<1 | 1 },
		"empty literal name": func(b []byte) { b[at] = 0 },
	} {
		b := slices.Clone(good)
		mutate(b)
		var got entry
		if err := decodeEntry(b, &got); err == nil {
			t.Errorf("%s: decoded, fields %q", name, got.fields)
		}
	}
	var ok entry
	if err := decodeEntry(good, &ok); err != nil || ok.first("X-A") != "1" {
		t.Fatalf("the unmodified entry: %v %q", err, ok.fields)
	}
}
