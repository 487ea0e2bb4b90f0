package core

import "testing"

// Accept-Language (RFC 9110 §12.5.4) is normalised for variant selection: language ranges
// lower-cased (RFC 4647 §2.1: case-insensitive), whitespace dropped, weights written one way
// (q=1 is the default, trailing zeros dropped) and ranges refused with q=0 left out; the
// order, which ranks equal weights, is kept.
func TestAcceptLanguageNormalised(t *testing.T) {
	norm := func(v ...string) string { return string(appendNormalised(nil, "Accept-Language", v)) }
	same := [][2][]string{
		{{"en-US,fr;q=0.5"}, {"en-us, fr;q=0.50"}},
		{{"en-US,fr;q=0.5"}, {"EN-us ,  FR ; Q=0.500"}},
		{{"de, en;q=0"}, {"de"}},
		{{"de;q=1.0, en;q=0.8"}, {"de, en;q=0.8"}},
		{{"de;q=1"}, {"de"}},
		{{"de", "en;q=0.7"}, {"de, en;q=0.70"}}, // lines form one list
		{{"*;q=0.1"}, {"* ; q=0.1"}},
		{{"de;q=0"}, {""}}, // as golang.org/x/text/language reads them: no range
	}
	for _, s := range same {
		if a, b := norm(s[0]...), norm(s[1]...); a != b {
			t.Errorf("%q → %q and %q → %q: want one variant", s[0], a, s[1], b)
		}
	}
	differ := [][2][]string{
		{{"fr,en"}, {"en,fr"}},
		{{"en-US,fr;q=0.5"}, {"en-US,fr;q=0.6"}},
		{{"en"}, {"en-gb"}},
		{{"de;q=0.5"}, {"de;q=0.05"}},
		{{"de;q=abc"}, {"de"}}, // an invalid weight is kept as it is, never merged
		{{"de;q=1.5"}, {"de"}},
		{{"de;x=1"}, {"de"}},
	}
	for _, d := range differ {
		if a, b := norm(d[0]...), norm(d[1]...); a == b {
			t.Errorf("%q and %q both → %q: want two variants", d[0], d[1], a)
		}
	}
	if got, want := norm("en-US, fr;q=0.50, de;q=0"), "en-us,fr;q=0.5"; got != want {
		t.Errorf("normalised %q, want %q", got, want)
	}
}
