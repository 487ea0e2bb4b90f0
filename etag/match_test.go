package etag

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/zeebo/xxh3"
)

func TestStrongWeakFormat(t *testing.T) {
	for _, body := range [][]byte{nil, {}, []byte("a"), []byte("hello, world"), bytes.Repeat([]byte{0xff}, 100000)} {
		s, w := Strong(body), Weak(body)
		if len(s) != strongLen || s[0] != '"' || s[len(s)-1] != '"' {
			t.Fatalf("Strong(%d bytes) = %q, want a quoted 22-char tag", len(body), s)
		}
		if w != "W/"+s {
			t.Fatalf("Weak = %q, want %q", w, "W/"+s)
		}
		if _, weak, ok := parse(s); !ok || weak {
			t.Fatalf("Strong = %q is not a valid strong entity-tag", s)
		}
		sum := xxh3.Hash128(body).Bytes()
		if want := `"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`; s != want {
			t.Fatalf("Strong = %q, want %q", s, want)
		}
		if got := string(AppendStrong([]byte("x"), body)); got != "x"+s {
			t.Fatalf("AppendStrong = %q, want %q", got, "x"+s)
		}
		if got := string(AppendWeak([]byte("x"), body)); got != "x"+w {
			t.Fatalf("AppendWeak = %q, want %q", got, "x"+w)
		}
	}
	if Strong([]byte("a")) == Strong([]byte("b")) {
		t.Fatal("different bodies, same tag")
	}
	if got, want := Strong([]byte("hello, world")), `"Ecg9nB7jaBZMCr4XtV22nA"`; got != want {
		t.Fatalf("Strong(hello, world) = %q, want %q (the encoding is part of the contract: changing it invalidates every client's cache)", got, want)
	}
}

func TestAppendStrongAllocs(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 4096)
	dst := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { dst = AppendStrong(dst[:0], body) }); n != 0 {
		t.Errorf("AppendStrong allocs = %v, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { dst = AppendWeak(dst[:0], body) }); n != 0 {
		t.Errorf("AppendWeak allocs = %v, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { sink = Strong(body) }); n != 1 {
		t.Errorf("Strong allocs = %v, want 1 (the string)", n)
	}
}

var sink string

func TestParse(t *testing.T) {
	tests := []struct {
		in     string
		opaque string
		weak   bool
		ok     bool
	}{
		{`"abc"`, `"abc"`, false, true},
		{`W/"abc"`, `"abc"`, true, true},
		{`""`, `""`, false, true},
		{`W/""`, `""`, true, true},
		{`"a,b"`, `"a,b"`, false, true},
		{"\"\x80\xff\"", "\"\x80\xff\"", false, true}, // obs-text
		{`w/"abc"`, "", false, false},                 // weak is case-sensitive
		{`abc`, "", false, false},
		{`"abc`, "", false, false},
		{`abc"`, "", false, false},
		{`"`, "", false, false},
		{`W/`, "", false, false},
		{`W/"`, "", false, false},
		{``, "", false, false},
		{`"a b"`, "", false, false}, // SP is not etagc
		{`"a"b"`, "", false, false}, // DQUOTE is not etagc
		{"\"a\x7fb\"", "", false, false},
		{"\"a\tb\"", "", false, false},
		{`"abc" x`, "", false, false},
	}
	for _, tt := range tests {
		opaque, weak, ok := parse(tt.in)
		if opaque != tt.opaque || weak != tt.weak || ok != tt.ok {
			t.Errorf("parse(%q) = %q, %v, %v; want %q, %v, %v", tt.in, opaque, weak, ok, tt.opaque, tt.weak, tt.ok)
		}
	}
}

func TestEqual(t *testing.T) {
	// RFC 9110 §8.8.3.2, the comparison table.
	tests := []struct {
		a, b         string
		strong, weak bool
	}{
		{`W/"1"`, `W/"1"`, false, true},
		{`W/"1"`, `W/"2"`, false, false},
		{`W/"1"`, `"1"`, false, true},
		{`"1"`, `"1"`, true, true},
		{`"1"`, `"2"`, false, false},
		{` "1"	`, `"1"`, true, true},
		{`1`, `1`, false, false},
		{``, ``, false, false},
		{`"1"`, `w/"1"`, false, false},
	}
	for _, tt := range tests {
		if got := StrongEqual(tt.a, tt.b); got != tt.strong {
			t.Errorf("StrongEqual(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.strong)
		}
		if got := StrongEqual(tt.b, tt.a); got != tt.strong {
			t.Errorf("StrongEqual(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.strong)
		}
		if got := WeakEqual(tt.a, tt.b); got != tt.weak {
			t.Errorf("WeakEqual(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.weak)
		}
		if got := WeakEqual(tt.b, tt.a); got != tt.weak {
			t.Errorf("WeakEqual(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.weak)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name        string
		list, etag  string
		weak, match bool // WeakMatch, StrongMatch
	}{
		{"single strong", `"abc"`, `"abc"`, true, true},
		{"single other", `"abc"`, `"xyz"`, false, false},
		{"list hit last", `"a", "b", "abc"`, `"abc"`, true, true},
		{"list hit first", `"abc","b"`, `"abc"`, true, true},
		{"weak element", `W/"abc"`, `"abc"`, true, false},
		{"weak etag", `"abc"`, `W/"abc"`, true, false},
		{"both weak", `W/"abc"`, `W/"abc"`, true, false},
		{"weak then strong element", `W/"abc", "abc"`, `"abc"`, true, true},
		{"star", `*`, `"abc"`, true, true},
		{"star weak etag", `*`, `W/"abc"`, true, true},
		{"star padded", " \t* ", `"abc"`, true, true},
		{"star no representation", `*`, ``, false, false},
		{"star in list", `"x", *`, `"abc"`, true, true},
		{"star with junk", `*x`, `"abc"`, false, false},
		{"empty etag", `"abc"`, ``, false, false},
		{"blank etag", `"abc"`, `  `, false, false},
		{"padded etag", `"abc"`, ` "abc" `, true, true},
		{"empty list", ``, `"abc"`, false, false},
		{"only commas", ` , ,, `, `"abc"`, false, false},
		{"empty elements", `,, "abc" ,`, `"abc"`, true, true},
		{"ows", "\t\"x\" ,\t \"abc\"\t", `"abc"`, true, true},
		{"no comma between", `"x" "abc"`, `"abc"`, false, false},
		{"glued", `"x""abc"`, `"abc"`, false, false},
		{"junk then tag", `junk, "abc"`, `"abc"`, true, true},
		{"tag then junk", `"abc"junk`, `"abc"`, false, false},
		{"junk with quote then tag", `x"y, "abc"`, `"abc"`, false, false}, // unbalanced quote swallows the rest
		{"comma inside quotes", `"a,b"`, `"a,b"`, true, true},
		{"comma inside quotes no split", `"a,b"`, `"a"`, false, false},
		{"comma inside quotes no split 2", `"a,b"`, `"b"`, false, false},
		{"comma inside quotes then tag", `"a,b", "abc"`, `"abc"`, true, true},
		{"lower w", `w/"abc"`, `"abc"`, false, false},
		{"unquoted", `abc`, `abc`, false, false},
		{"unquoted etag", `"abc"`, `abc`, false, false},
		{"unquoted etag star", `*`, `abc`, true, true},
		{"empty opaque", `""`, `""`, true, true},
		{"empty opaque vs other", `""`, `"a"`, false, false},
		{"unterminated", `"abc`, `"abc"`, false, false},
		{"only W/", `W/`, `"abc"`, false, false},
		{"space inside", `"a bc"`, `"a bc"`, false, false},
		{"prefix is not a match", `"ab"`, `"abc"`, false, false},
		{"case matters", `"ABC"`, `"abc"`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WeakMatch(tt.list, tt.etag); got != tt.weak {
				t.Errorf("WeakMatch(%q, %q) = %v, want %v", tt.list, tt.etag, got, tt.weak)
			}
			if got := StrongMatch(tt.list, tt.etag); got != tt.match {
				t.Errorf("StrongMatch(%q, %q) = %v, want %v", tt.list, tt.etag, got, tt.match)
			}
		})
	}
}

func TestMatchLongList(t *testing.T) {
	var b strings.Builder
	for i := range 1000 {
		b.WriteString(`W/"v`)
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(`", `)
	}
	b.WriteString(`"last"`)
	if !WeakMatch(b.String(), `"last"`) || !StrongMatch(b.String(), `"last"`) {
		t.Fatal("the last element of a long list did not match")
	}
}

// TestMatchHostile runs inputs that would take quadratic time in a naive
// quote-aware scanner; it finishes at once when scanning is linear.
func TestMatchHostile(t *testing.T) {
	quotes := strings.Repeat(`""`, 1<<19) + `, "x"`
	if !WeakMatch(quotes, `"x"`) {
		t.Error(`the element after 2^19 "" did not match`)
	}
	commas := `"` + strings.Repeat(",", 1<<20)
	if WeakMatch(commas, `"x"`) {
		t.Error("an unbalanced quote matched")
	}
	mixed := strings.Repeat(`"a",`, 1<<18) + `*`
	if !StrongMatch(mixed, `"b"`) {
		t.Error("the trailing * did not match")
	}
}

func TestCut(t *testing.T) {
	tests := []struct {
		in         string
		elem, rest string
	}{
		{``, ``, ``},
		{`a`, `a`, ``},
		{` a , b`, `a`, ` b`},
		{`"a,b", c`, `"a,b"`, ` c`},
		{`"a,b`, `"a,b`, ``},
		{`,`, ``, ``},
		{`"",""`, `""`, `""`},
	}
	for _, tt := range tests {
		elem, rest := cut(tt.in)
		if elem != tt.elem || rest != tt.rest {
			t.Errorf("cut(%q) = %q, %q; want %q, %q", tt.in, elem, rest, tt.elem, tt.rest)
		}
	}
}

func TestMatchAllocs(t *testing.T) {
	list := `W/"one", "two", "Ecg9nB7jaBZMCr4XtV22nA"`
	etag := `"Ecg9nB7jaBZMCr4XtV22nA"`
	if n := testing.AllocsPerRun(100, func() { _ = WeakMatch(list, etag) }); n != 0 {
		t.Errorf("WeakMatch allocs = %v, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = StrongMatch(list, etag) }); n != 0 {
		t.Errorf("StrongMatch allocs = %v, want 0", n)
	}
}
