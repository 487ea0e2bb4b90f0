package core

import (
	"net/http"
	"testing"
)

// FuzzDecodeEntry: an arbitrary stored value is a miss or a valid entry, never a panic.
func FuzzDecodeEntry(f *testing.F) {
	e := entry{status: 200, fresh: 1e9, etag: `"x"`, tags: []string{"a"}, fields: []field{{"Content-Type", "text/plain"}}, body: []byte("hi")}
	f.Add(e.encode(nil))
	v := varyRecord{fields: []string{"Accept"}, variants: []uint64{1, 2}}
	f.Add(v.encode(nil))
	f.Add([]byte{kindEntry, entryVersion, 200, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e entry
		if decodeEntry(b, &e) == nil {
			if e.status < 100 || e.status > 999 {
				t.Fatalf("status %d accepted", e.status)
			}
			again := e.encode(nil)
			var e2 entry
			if err := decodeEntry(again, &e2); err != nil {
				t.Fatalf("re-encoding a decoded entry fails: %v", err)
			}
		}
		var v varyRecord
		_ = decodeVary(b, &v)
	})
}

// FuzzVariantHash: normalisation never panics and is insensitive to case and spacing where
// the grammar allows.
func FuzzVariantHash(f *testing.F) {
	f.Add("en-US, fr;q=0.5", "gzip, br")
	f.Fuzz(func(t *testing.T, lang, enc string) {
		h := http.Header{"Accept-Language": {lang}, "Accept-Encoding": {enc}}
		fields := []string{"Accept-Encoding", "Accept-Language"}
		a := variantHash(fields, h)
		if a == 0 {
			t.Fatal("zero variant hash")
		}
		h2 := http.Header{"Accept-Language": {lang + " "}, "Accept-Encoding": {enc}}
		if variantHash(fields, h2) != a {
			t.Fatal("trailing space changed the variant")
		}
	})
}
