package etag

import (
	"net/http"
	"testing"
	"time"
)

// FuzzMatch checks that list scanning never panics and keeps the relations
// between the comparison functions. Seeds: testdata/fuzz/FuzzMatch and below.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{
		{`"abc"`, `"abc"`},
		{`W/"abc", "def"`, `"def"`},
		{`*`, `W/"x"`},
		{`"a,b", "c"`, `"a,b"`},
		{` , ,"x`, `"x"`},
		{`W/`, ``},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, list, etag string) {
		weak, strong := WeakMatch(list, etag), StrongMatch(list, etag)
		if strong && !weak {
			t.Fatalf("StrongMatch(%q, %q) without WeakMatch", list, etag)
		}
		if elem, rest := cut(list); rest == "" {
			// A one-element list is the pairwise comparison (or "*").
			star := elem == "*" && trimOWS(etag) != ""
			if want := star || WeakEqual(elem, etag); weak != want {
				t.Fatalf("WeakMatch(%q, %q) = %v, WeakEqual or * says %v", list, etag, weak, want)
			}
			if want := star || StrongEqual(elem, etag); strong != want {
				t.Fatalf("StrongMatch(%q, %q) = %v, StrongEqual or * says %v", list, etag, strong, want)
			}
		}
		opaque, isWeak, ok := parse(trimOWS(etag))
		if !ok {
			return
		}
		// A valid tag matches itself, also in front of anything else.
		if !WeakMatch(etag, etag) || !WeakMatch(etag+","+list, etag) {
			t.Fatalf("WeakMatch: %q does not match itself (list %q)", etag, list)
		}
		if StrongMatch(etag, etag) == isWeak || StrongMatch(etag+","+list, etag) != (!isWeak || strong) {
			t.Fatalf("StrongMatch: %q against itself (list %q)", etag, list)
		}
		// Weak comparison ignores the weak indicator on either side.
		if w := WeakMatch(list, "W/"+opaque); w != weak {
			t.Fatalf("WeakMatch(%q, W/%s) = %v, but %v for %q", list, opaque, w, weak, etag)
		}
		if StrongMatch(list, "W/"+opaque) && !hasStar(list) {
			t.Fatalf("StrongMatch(%q, W/%s): a weak tag matched strongly", list, opaque)
		}
	})
}

// hasStar reports whether one of list's elements is "*".
func hasStar(list string) bool {
	for list != "" {
		var elem string
		if elem, list = cut(list); elem == "*" {
			return true
		}
	}
	return false
}

// FuzzEvaluate feeds random field values to Evaluate: it must not panic,
// must return one of the three results, and must keep the §13.2.2 rules that
// do not depend on parsing details.
func FuzzEvaluate(f *testing.F) {
	f.Add("GET", "", `"v1"`, "", "", `"v1"`, int64(1704888000))
	f.Add("PUT", `"v0"`, "", "", "Wed, 10 Jan 2024 12:00:00 GMT", `"v1"`, int64(1704888000))
	f.Add("HEAD", "", "", "Wed, 10 Jan 2024 12:00:00 GMT", "", "", int64(1704888000))
	f.Add("POST", "*", "*", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", `W/"x"`, int64(0))
	f.Fuzz(func(t *testing.T, method, im, inm, ims, ius, etag string, lmUnix int64) {
		h := http.Header{}
		for k, v := range map[string]string{"If-Match": im, "If-None-Match": inm, "If-Modified-Since": ims, "If-Unmodified-Since": ius} {
			if v != "" {
				h[k] = []string{v}
			}
		}
		var lastMod time.Time
		if lmUnix != 0 {
			lastMod = time.Unix(lmUnix, 0)
		}
		res := Evaluate(method, h, etag, lastMod)
		switch res {
		case Proceed, Unmodified, PreconditionFailed:
		default:
			t.Fatalf("Evaluate returned %d", res)
		}
		safe := method == "GET" || method == "HEAD" || method == ""
		if res == Unmodified && !safe {
			t.Fatalf("304 for method %q", method)
		}
		if safe && Evaluate("HEAD", h, etag, lastMod) != res {
			t.Fatalf("HEAD and %q disagree", method)
		}
		if present([]string{im}) && !StrongMatch(im, etag) && res != PreconditionFailed {
			t.Fatalf("If-Match %q false for %q, got %v", im, etag, res)
		}
		if present([]string{inm}) && WeakMatch(inm, etag) && res == Proceed {
			t.Fatalf("If-None-Match %q matched %q, got Proceed", inm, etag)
		}
		if len(h) == 0 && res != Proceed {
			t.Fatalf("no preconditions, got %v", res)
		}
	})
}
