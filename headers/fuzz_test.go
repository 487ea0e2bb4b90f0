package headers

import (
	"net/textproto"
	"reflect"
	"testing"
)

// FuzzParseCacheControl checks that the parser never panics, keeps its
// output within the documented bounds, and that its output is a fixed point
// of render-then-parse: ParseCacheControl(d.String()) == d.
func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{
		"public, max-age=60",
		`private="Set-Cookie, X-Foo", no-cache="a\"b", max-age="6\0"`,
		"max-age=99999999999999999999, max-age=1, s-maxage=x",
		"max-stale, max-stale=5, min-fresh=1, min-fresh=9",
		`foo="a, no-store", "`,
	} {
		f.Add(s, "")
	}
	f.Add("max-age=1", "max-age=0, PUBLIC")
	f.Fuzz(func(t *testing.T, a, b string) {
		d := ParseCacheControl([]string{a, b})
		for _, v := range []Delta{d.MaxAge, d.SMaxAge, d.StaleWhileRevalidate, d.StaleIfError, d.MaxStale, d.MinFresh} {
			if v.Seconds < 0 || v.Seconds > 1<<31 || (!v.Valid && v.Seconds != 0) {
				t.Fatalf("delta out of range: %+v", v)
			}
		}
		if d.MaxStaleAny && d.MaxStale.Valid {
			t.Fatalf("MaxStaleAny together with a bounded MaxStale")
		}
		checkFields := func(on bool, fields []string) {
			if len(fields) > 0 && !on {
				t.Fatalf("fields %q without their directive", fields)
			}
			if fields != nil && len(fields) == 0 {
				t.Fatalf("empty, non-nil field list")
			}
			for _, f := range fields {
				if !validToken(f) || textproto.CanonicalMIMEHeaderKey(f) != f {
					t.Fatalf("field %q is not a canonical field name", f)
				}
			}
		}
		checkFields(d.Private, d.PrivateFields)
		checkFields(d.NoCache, d.NoCacheFields)

		s := d.String()
		d2 := ParseCacheControl([]string{s})
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("round trip of %q, %q via %q:\ngot  %+v\nwant %+v", a, b, s, d2, d)
		}
		if s2 := d2.String(); s2 != s {
			t.Fatalf("String not stable: got %q, want %q", s2, s)
		}
	})
}
