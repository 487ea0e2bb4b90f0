package core

import (
	"net/http"
	"reflect"
	"testing"
)

// FuzzDecodeEntry: an arbitrary stored value is a miss or a valid entry, never a panic.
func FuzzDecodeEntry(f *testing.F) {
	e := entry{status: 200, fresh: 1e9, key: "G4:http", etag: `"x"`, tags: []string{"a"}, fields: []field{{"Content-Type", "text/plain"}}, body: []byte("hi")}
	f.Add(e.encode(nil))
	v := varyRecord{key: "G4:http", fields: []string{"Accept"}, variants: []variantSlot{{1, 5}, {2, 6}}}
	f.Add(v.encode(nil))
	f.Add([]byte{byte(kindEntry), entryVersion, 200, 0, 0})
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
			if !reflect.DeepEqual(e, e2) {
				t.Fatalf("round trip changed the entry:\n%+v\n%+v", e, e2)
			}
		}
		var v varyRecord
		_ = decodeVary(b, &v)
	})
}

// FuzzVariantValues: normalisation never panics, is deterministic, and is insensitive to
// whitespace where the grammar allows it.
func FuzzVariantValues(f *testing.F) {
	f.Add("en-US, fr;q=0.5", "gzip, br", "Mozilla/5.0 (X)")
	f.Fuzz(func(t *testing.T, lang, enc, ua string) {
		fields := []string{"Accept-Encoding", "Accept-Language", "User-Agent"}
		r := &http.Request{Header: http.Header{"Accept-Language": {lang}, "Accept-Encoding": {enc}, "User-Agent": {ua}}}
		a := string(variantValues(nil, fields, r))
		if b := string(variantValues(nil, fields, r)); a != b {
			t.Fatalf("not deterministic: %q then %q", a, b)
		}
		r2 := &http.Request{Header: http.Header{"Accept-Language": {lang + " "}, "Accept-Encoding": {" " + enc}, "User-Agent": {ua}}}
		if b := string(variantValues(nil, fields, r2)); a != b {
			t.Fatalf("outer whitespace changed the variant: %q vs %q", a, b)
		}
		r3 := &http.Request{Header: http.Header{"Accept-Language": {lang}, "Accept-Encoding": {enc}, "User-Agent": {ua + "x"}}}
		if b := string(variantValues(nil, fields, r3)); a == b {
			t.Fatalf("a different User-Agent selected the same variant: %q", a)
		}
	})
}
