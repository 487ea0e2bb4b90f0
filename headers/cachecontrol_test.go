package headers

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// sec builds an expected, valid Delta.
func sec(n int64) Delta { return Delta{Seconds: n, Valid: true} }

func TestParseCacheControl(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   Directives
	}{
		// Empty and separators only (RFC 9110 §5.6.1).
		{"nil", nil, Directives{}},
		{"empty line", []string{""}, Directives{}},
		{"separators only", []string{" , ,,\t, "}, Directives{}},

		// Plain directives.
		{"public max-age", []string{"public, max-age=60"}, Directives{Public: true, MaxAge: sec(60)}},
		{"every boolean", []string{"public, private, no-store, no-cache, must-revalidate, proxy-revalidate, must-understand, no-transform, immutable, only-if-cached"},
			Directives{Public: true, Private: true, NoStore: true, NoCache: true, MustRevalidate: true, ProxyRevalidate: true,
				MustUnderstand: true, NoTransform: true, Immutable: true, OnlyIfCached: true}},
		{"every delta", []string{"max-age=1, s-maxage=2, stale-while-revalidate=3, stale-if-error=4, max-stale=5, min-fresh=6"},
			Directives{MaxAge: sec(1), SMaxAge: sec(2), StaleWhileRevalidate: sec(3), StaleIfError: sec(4), MaxStale: sec(5), MinFresh: sec(6)}},
		{"zero", []string{"max-age=0"}, Directives{MaxAge: sec(0)}},
		{"several lines", []string{"public", "max-age=5", "", "s-maxage=7"}, Directives{Public: true, MaxAge: sec(5), SMaxAge: sec(7)}},

		// Case-insensitive names (§5.2).
		{"upper case", []string{"PUBLIC, MAX-AGE=60, S-MAXAGE=120, NO-STORE"}, Directives{Public: true, NoStore: true, MaxAge: sec(60), SMaxAge: sec(120)}},
		{"mixed case", []string{"Private, No-Cache, Stale-While-Revalidate=9"}, Directives{Private: true, NoCache: true, StaleWhileRevalidate: sec(9)}},

		// Whitespace.
		{"OWS around elements", []string{"  public ,\tmax-age=3\t,  "}, Directives{Public: true, MaxAge: sec(3)}},
		{"BWS around =", []string{"max-age = 30, s-maxage\t=\t40"}, Directives{MaxAge: sec(30), SMaxAge: sec(40)}},
		{"no space after comma", []string{"public,max-age=8,immutable"}, Directives{Public: true, Immutable: true, MaxAge: sec(8)}},

		// Quoted arguments (§5.2: recipients accept both forms).
		{"quoted delta", []string{`max-age="60"`}, Directives{MaxAge: sec(60)}},
		{"escaped digit", []string{`max-age="6\0"`}, Directives{MaxAge: sec(60)}},
		{"quoted swr", []string{`stale-while-revalidate="30"`}, Directives{StaleWhileRevalidate: sec(30)}},
		{"comma inside quotes", []string{`private="Set-Cookie, X-Foo", max-age=5`},
			Directives{Private: true, PrivateFields: []string{"Set-Cookie", "X-Foo"}, MaxAge: sec(5)}},
		{"extension with quoted comma", []string{`foo="a, no-store", max-age=5`}, Directives{MaxAge: sec(5)}},
		{"extension with escaped quote", []string{`foo="a\", no-store, b", max-age=1`}, Directives{MaxAge: sec(1)}},
		{"escaped backslash then quote ends", []string{`foo="a\\", no-store`}, Directives{NoStore: true}},
		{"escape in field list", []string{`no-cache="X-\Foo"`}, Directives{NoCache: true, NoCacheFields: []string{"X-Foo"}}},

		// Unknown extensions (§5.2.3).
		{"extension token", []string{"community=UCI, max-age=5"}, Directives{MaxAge: sec(5)}},
		{"extension bare", []string{"foo, public"}, Directives{Public: true}},
		{"name longer than any known", []string{"stale-while-revalidate-extra=5, public"}, Directives{Public: true}},
		{"prefix of a known name", []string{"max=5, no"}, Directives{}},
		{"non-ASCII name", []string{"m\u00e4x-age=5, public"}, Directives{Public: true}},

		// Qualified forms (§5.2.2.4, §5.2.2.7).
		{"qualified canonicalised", []string{`no-cache="set-cookie, x-foo"`}, Directives{NoCache: true, NoCacheFields: []string{"Set-Cookie", "X-Foo"}}},
		{"qualified token form", []string{"private=set-cookie"}, Directives{Private: true, PrivateFields: []string{"Set-Cookie"}}},
		{"qualified union, deduplicated", []string{`no-cache="A", no-cache="a, B"`}, Directives{NoCache: true, NoCacheFields: []string{"A", "B"}}},
		{"qualified OWS and empty elements", []string{`private=" , Set-Cookie ,, Authorization "`},
			Directives{Private: true, PrivateFields: []string{"Set-Cookie", "Authorization"}}},
		{"unqualified wins (first)", []string{`private, private="Set-Cookie"`}, Directives{Private: true}},
		{"unqualified wins (last)", []string{`no-cache="Set-Cookie"`, `no-cache`}, Directives{NoCache: true}},
		{"empty list is unqualified", []string{`private=""`}, Directives{Private: true}},
		{"empty list wins over named", []string{`private="A", private=""`}, Directives{Private: true}},
		{"invalid names skipped", []string{`private="Set-Cookie, bad name, x:y"`}, Directives{Private: true, PrivateFields: []string{"Set-Cookie"}}},
		{"only invalid names is unqualified", []string{`private="bad name"`}, Directives{Private: true}},
		{"unterminated list is unqualified", []string{`private="Set-Cookie`}, Directives{Private: true}},
		{"junk after list is unqualified", []string{`no-cache="A"x`}, Directives{NoCache: true}},
		{"qualified with other directives", []string{`private="Set-Cookie", max-age=10, no-cache="X-A"`},
			Directives{Private: true, PrivateFields: []string{"Set-Cookie"}, NoCache: true, NoCacheFields: []string{"X-A"}, MaxAge: sec(10)}},

		// delta-seconds overflow (§1.2.2).
		{"2^31 exactly", []string{"max-age=2147483648"}, Directives{MaxAge: sec(1 << 31)}},
		{"2^31 + 1", []string{"max-age=2147483649"}, Directives{MaxAge: sec(1 << 31)}},
		{"overflows int64", []string{"s-maxage=999999999999999999999999999999"}, Directives{SMaxAge: sec(1 << 31)}},
		{"leading zeros", []string{"max-age=0000000000000000000000060"}, Directives{MaxAge: sec(60)}},
		{"swr overflow", []string{"stale-while-revalidate=18446744073709551616"}, Directives{StaleWhileRevalidate: sec(1 << 31)}},

		// Missing or invalid freshness: stale (§4.2.1).
		{"max-age without value", []string{"max-age"}, Directives{MaxAge: sec(0)}},
		{"max-age empty", []string{"max-age="}, Directives{MaxAge: sec(0)}},
		{"max-age empty quoted", []string{`max-age=""`}, Directives{MaxAge: sec(0)}},
		{"max-age letters", []string{"public, max-age=abc"}, Directives{Public: true, MaxAge: sec(0)}},
		{"max-age negative", []string{"max-age=-1"}, Directives{MaxAge: sec(0)}},
		{"max-age plus sign", []string{"max-age=+1"}, Directives{MaxAge: sec(0)}},
		{"max-age fraction", []string{"max-age=1.5"}, Directives{MaxAge: sec(0)}},
		{"max-age unit", []string{"max-age=5s"}, Directives{MaxAge: sec(0)}},
		{"max-age hex", []string{"max-age=0x10"}, Directives{MaxAge: sec(0)}},
		{"max-age two numbers", []string{"max-age=5 6"}, Directives{MaxAge: sec(0)}},
		{"max-age trailing junk", []string{"max-age=60;x, public"}, Directives{Public: true, MaxAge: sec(0)}},
		{"max-age quoted junk", []string{`max-age=60 "x, no-store", public`}, Directives{Public: true, MaxAge: sec(0)}},
		{"max-age unterminated", []string{`max-age="60`}, Directives{MaxAge: sec(0)}},
		{"max-age dangling escape", []string{`max-age="6\`}, Directives{MaxAge: sec(0)}},
		{"max-age junk before =", []string{`max-age"5"`}, Directives{MaxAge: sec(0)}},
		{"s-maxage invalid", []string{"s-maxage=soon"}, Directives{SMaxAge: sec(0)}},

		// Invalid optional deltas are ignored.
		{"swr invalid", []string{"stale-while-revalidate=abc"}, Directives{}},
		{"swr missing", []string{"stale-while-revalidate"}, Directives{}},
		{"sie negative", []string{"stale-if-error=-1"}, Directives{}},
		{"min-fresh invalid", []string{"min-fresh=x"}, Directives{}},
		{"max-stale invalid", []string{"max-stale=x"}, Directives{}},
		{"swr invalid then valid", []string{"stale-while-revalidate=x, stale-while-revalidate=20"}, Directives{StaleWhileRevalidate: sec(20)}},

		// max-stale (§5.2.1.2).
		{"max-stale any", []string{"max-stale"}, Directives{MaxStaleAny: true}},
		{"max-stale bounded", []string{"max-stale=30"}, Directives{MaxStale: sec(30)}},
		{"max-stale bounded wins over any", []string{"max-stale, max-stale=30"}, Directives{MaxStale: sec(30)}},
		{"max-stale any then bounded, other line", []string{"max-stale=30", "max-stale"}, Directives{MaxStale: sec(30)}},

		// Duplicates (§4.2.1): lowest, min-fresh highest.
		{"max-age lowest (second)", []string{"max-age=60, max-age=30"}, Directives{MaxAge: sec(30)}},
		{"max-age lowest (first)", []string{"max-age=30, max-age=60"}, Directives{MaxAge: sec(30)}},
		{"max-age across lines", []string{"max-age=60", "max-age=10"}, Directives{MaxAge: sec(10)}},
		{"max-age duplicate invalid", []string{"max-age=60, max-age=x"}, Directives{MaxAge: sec(0)}},
		{"max-age same twice", []string{"max-age=60, MAX-AGE=60"}, Directives{MaxAge: sec(60)}},
		{"s-maxage lowest", []string{"s-maxage=5, s-maxage=7"}, Directives{SMaxAge: sec(5)}},
		{"swr lowest", []string{"stale-while-revalidate=30, stale-while-revalidate=10"}, Directives{StaleWhileRevalidate: sec(10)}},
		{"sie lowest", []string{"stale-if-error=10", "stale-if-error=30"}, Directives{StaleIfError: sec(10)}},
		{"max-stale lowest", []string{"max-stale=10, max-stale=5"}, Directives{MaxStale: sec(5)}},
		{"min-fresh highest", []string{"min-fresh=5, min-fresh=20, min-fresh=10"}, Directives{MinFresh: sec(20)}},
		{"boolean repeated", []string{"no-store, no-store"}, Directives{NoStore: true}},

		// Conflicts are reported as they are; the caller picks the most
		// restrictive (§4.2.1).
		{"public and private", []string{"public, private"}, Directives{Public: true, Private: true}},
		{"max-age and no-cache", []string{"max-age=60, no-cache"}, Directives{NoCache: true, MaxAge: sec(60)}},
		{"no-store and max-age", []string{"no-store", "max-age=60"}, Directives{NoStore: true, MaxAge: sec(60)}},

		// Arguments on directives that take none are ignored.
		{"boolean with argument", []string{`no-store=1, public="x", immutable=`}, Directives{NoStore: true, Public: true, Immutable: true}},
		{"boolean with junk", []string{"no-store junk, must-revalidate;x"}, Directives{NoStore: true, MustRevalidate: true}},

		// Junk.
		{"semicolons", []string{";;;"}, Directives{}},
		{"bare quoted string", []string{`"just, quoted", public`}, Directives{Public: true}},
		{"bare =", []string{"=5, =, public"}, Directives{Public: true}},
		{"control bytes", []string{"\x00\xff\x7f, max-age=5"}, Directives{MaxAge: sec(5)}},
		{"lone quote", []string{`"`}, Directives{}},
		{"lone backslash in quotes", []string{`"\`}, Directives{}},
		{"mess", []string{`max-age=5 , ,, =, "a,b" ,public, , private=`},
			Directives{Public: true, Private: true, MaxAge: sec(5)}},
		{"equals in argument", []string{"max-age==5"}, Directives{MaxAge: sec(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseCacheControl(tt.values)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseCacheControl(%q):\ngot  %q %+v\nwant %q %+v", tt.values, got.String(), got, tt.want.String(), tt.want)
			}
		})
	}
}

func TestDirectivesString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"MAX-AGE=5, Public", "public, max-age=5"},
		{`no-cache="set-cookie", private="x-a, x-b", max-stale, min-fresh=3`,
			`private="X-A, X-B", no-cache="Set-Cookie", max-stale, min-fresh=3`},
		{"max-stale, max-stale=4", "max-stale=4"},
		{"stale-if-error=x, immutable, only-if-cached, must-understand, no-transform, proxy-revalidate, must-revalidate, no-store",
			"no-store, must-revalidate, proxy-revalidate, must-understand, no-transform, immutable, only-if-cached"},
		{"s-maxage=1, stale-if-error=3, stale-while-revalidate=2", "s-maxage=1, stale-while-revalidate=2, stale-if-error=3"},
	}
	for _, tt := range tests {
		if got := ParseCacheControl([]string{tt.in}).String(); got != tt.want {
			t.Errorf("String of %q: got %q, want %q", tt.in, got, tt.want)
		}
	}

	// Hand-built values with characters that need escaping survive a round trip.
	d := Directives{Private: true, PrivateFields: []string{`A"B`, `C\D`}}
	if got, want := d.String(), `private="A\"B, C\\D"`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDeltaDuration(t *testing.T) {
	tests := []struct {
		d    Delta
		want time.Duration
	}{
		{Delta{}, 0},
		{Delta{Seconds: 5}, 0}, // not valid
		{sec(0), 0},
		{sec(90), 90 * time.Second},
		{sec(1 << 31), (1 << 31) * time.Second},
	}
	for _, tt := range tests {
		if got := tt.d.Duration(); got != tt.want {
			t.Errorf("%+v.Duration() = %v, want %v", tt.d, got, tt.want)
		}
	}
}

// TestParseCacheControlAllocs pins the zero-allocation promise for the
// common case: unqualified directives, token or quoted arguments.
func TestParseCacheControlAllocs(t *testing.T) {
	for _, v := range [][]string{
		{"public, max-age=60, s-maxage=300, stale-while-revalidate=30"},
		{"no-cache, no-store, must-revalidate"},
		{"private, max-age=0"},
		{"Public", "Max-Age=60", "stale-if-error=86400"},
		{`max-age="60", foo="bar, baz", private, no-cache`},
		{"max-age=99999999999999999999, max-age=abc, junk;;, immutable"},
		{strings.Repeat("x", 100) + "=1, max-age=1"},
	} {
		n := testing.AllocsPerRun(200, func() { sinkDirectives = ParseCacheControl(v) })
		if n != 0 {
			t.Errorf("ParseCacheControl(%q): %v allocs, want 0", v, n)
		}
	}
}

var sinkDirectives Directives
