package headers

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

func TestPolicyRender(t *testing.T) {
	tests := []struct {
		name    string
		p       Policy
		cc, cdn string
	}{
		{"zero", Policy{}, "", ""},
		{"Public", Public(10 * time.Second), "public, max-age=10", ""},
		{"Public zero", Public(0), "public, max-age=0", ""},
		{"Public rounds down", Public(1999 * time.Millisecond), "public, max-age=1", ""},
		{"Public sub-second", Public(time.Millisecond), "public, max-age=0", ""},
		{"Public negative", Public(-time.Hour), "public, max-age=0", ""},
		{"Public clamps to 2^31", Public(100 * 365 * 24 * time.Hour), "public, max-age=2147483648", ""},
		{"Private", Private(), "private", ""},
		{"NoStore", NoStore(), "no-store", ""},
		{"NoCache", NoCache(), "no-cache", ""},
		{"Immutable", Immutable(365 * 24 * time.Hour), "public, max-age=31536000, immutable", ""},

		{"MaxAge", Private().MaxAge(time.Minute), "private, max-age=60", ""},
		{"MaxAge replaces", Public(time.Second).MaxAge(2 * time.Second), "public, max-age=2", ""},
		{"MaxAge on zero", Policy{}.MaxAge(5 * time.Second), "max-age=5", ""},
		{"SMaxAge", Public(10 * time.Second).SMaxAge(time.Minute), "public, max-age=10, s-maxage=60", ""},
		{"SMaxAge negative", Public(0).SMaxAge(-time.Second), "public, max-age=0, s-maxage=0", ""},
		{"StaleWhileRevalidate", Public(time.Second).StaleWhileRevalidate(30 * time.Second), "public, max-age=1, stale-while-revalidate=30", ""},
		{"StaleIfError", Public(time.Second).StaleIfError(time.Minute), "public, max-age=1, stale-if-error=60", ""},
		{"MustRevalidate", Public(time.Second).MustRevalidate(), "public, max-age=1, must-revalidate", ""},
		{"ProxyRevalidate", Public(time.Second).ProxyRevalidate(), "public, max-age=1, proxy-revalidate", ""},
		{"NoTransform", Public(time.Second).NoTransform(), "public, max-age=1, no-transform", ""},
		{"Immutable method", Public(time.Second).Immutable(), "public, max-age=1, immutable", ""},
		{"Immutable twice", Immutable(time.Second).Immutable(), "public, max-age=1, immutable", ""},
		{"NoCache method", Private().NoCache(), "private, no-cache", ""},
		{"CDNMaxAge", Public(10 * time.Second).CDNMaxAge(time.Hour), "public, max-age=10", "public, max-age=3600"},
		{"CDNMaxAge with stale windows", Public(10 * time.Second).StaleWhileRevalidate(time.Minute).StaleIfError(time.Hour).CDNMaxAge(5 * time.Minute),
			"public, max-age=10, stale-while-revalidate=60, stale-if-error=3600",
			"public, max-age=300, stale-while-revalidate=60, stale-if-error=3600"},
		{"CDNMaxAge before stale windows", Public(0).CDNMaxAge(time.Minute).StaleIfError(time.Second),
			"public, max-age=0, stale-if-error=1", "public, max-age=60, stale-if-error=1"},
		{"CDNMaxAge negative", Public(0).CDNMaxAge(-time.Minute), "public, max-age=0", "public, max-age=0"},

		{"demo product", Public(10 * time.Second).SMaxAge(time.Minute).StaleWhileRevalidate(5 * time.Minute),
			"public, max-age=10, s-maxage=60, stale-while-revalidate=300", ""},
		{"every directive, fixed order",
			Public(time.Second).Immutable().NoTransform().ProxyRevalidate().MustRevalidate().StaleIfError(4 * time.Second).
				StaleWhileRevalidate(3 * time.Second).SMaxAge(2 * time.Second).NoCache(),
			"public, no-cache, max-age=1, s-maxage=2, stale-while-revalidate=3, stale-if-error=4, must-revalidate, proxy-revalidate, no-transform, immutable", ""},
		{"Private keeps what was asked", Private().SMaxAge(time.Minute).MaxAge(time.Second).ProxyRevalidate(),
			"private, max-age=1, s-maxage=60, proxy-revalidate", ""},
		{"NoStore renders only no-store", NoStore().MaxAge(time.Minute).SMaxAge(time.Minute).MustRevalidate().Immutable(), "no-store", ""},
		{"NoStore keeps CDN field", NoStore().CDNMaxAge(time.Minute), "no-store", "public, max-age=60"},
		{"cache-only settings render nothing", Public(time.Second).Tags("a").TagFunc(func(*http.Request) []string { return nil }).
			NegativeTTL(time.Minute).IgnoreQuery("utm_source").Vary("Accept"), "public, max-age=1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.CacheControl(); got != tt.cc {
				t.Errorf("CacheControl() = %q, want %q", got, tt.cc)
			}
			if got := tt.p.CDNCacheControl(); got != tt.cdn {
				t.Errorf("CDNCacheControl() = %q, want %q", got, tt.cdn)
			}
		})
	}
}

func TestPolicyIsZero(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		want bool
	}{
		{"zero", Policy{}, true},
		{"empty Vary", Policy{}.Vary(), true},
		{"empty Tags", Policy{}.Tags(""), true},
		{"nil TagFunc", Policy{}.TagFunc(nil), true},
		{"zero NegativeTTL", Policy{}.NegativeTTL(0), true},
		{"negative NegativeTTL", Policy{}.NegativeTTL(-time.Second), true},
		{"empty IgnoreQuery", Policy{}.IgnoreQuery(), true},
		{"Public", Public(0), false},
		{"Private", Private(), false},
		{"NoStore", NoStore(), false},
		{"MaxAge", Policy{}.MaxAge(0), false},
		{"CDNMaxAge", Policy{}.CDNMaxAge(0), false},
		{"Vary", Policy{}.Vary("Accept"), false},
		{"Tags", Policy{}.Tags("t"), false},
		{"TagFunc", Policy{}.TagFunc(func(*http.Request) []string { return nil }), false},
		{"NegativeTTL", Policy{}.NegativeTTL(time.Second), false},
		{"IgnoreQuery", Policy{}.IgnoreQuery("a"), false},
	}
	for _, tt := range tests {
		if got := tt.p.IsZero(); got != tt.want {
			t.Errorf("%s: IsZero() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPolicyAccessors(t *testing.T) {
	p := Public(time.Second).
		Vary("accept-encoding", "Accept, ACCEPT-LANGUAGE", "", " accept ", "bad field").
		Tags("product:1", "", "product:1", "category:books").
		NegativeTTL(30*time.Second).
		IgnoreQuery("utm_source", "", "utm_source", "fbclid")
	checkStrings(t, "VaryFields", p.VaryFields(), []string{"Accept-Encoding", "Accept", "Accept-Language"})
	checkStrings(t, "TagsFor", p.TagsFor(nil), []string{"product:1", "category:books"})
	checkStrings(t, "IgnoredQuery", p.IgnoredQuery(), []string{"utm_source", "fbclid"})
	if got, want := p.NegTTL(), 30*time.Second; got != want {
		t.Errorf("NegTTL() = %v, want %v", got, want)
	}

	var z Policy
	if z.VaryFields() != nil || z.TagsFor(nil) != nil || z.IgnoredQuery() != nil || z.NegTTL() != 0 {
		t.Errorf("zero Policy accessors are not empty")
	}
}

func TestPolicyVaryStar(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		want []string
	}{
		{"star alone", Policy{}.Vary("*"), []string{"*"}},
		{"star replaces", Policy{}.Vary("Accept", "*"), []string{"*"}},
		{"star absorbs later", Policy{}.Vary("*").Vary("Accept"), []string{"*"}},
		{"star in list", Policy{}.Vary("Accept, *, Cookie"), []string{"*"}},
	}
	for _, tt := range tests {
		checkStrings(t, tt.name, tt.p.VaryFields(), tt.want)
	}
}

func TestPolicyTagsFor(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "/products/7", nil)
	byPath := func(r *http.Request) []string { return []string{"path:" + r.URL.Path, "", "static"} }
	tests := []struct {
		name string
		p    Policy
		r    *http.Request
		want []string
	}{
		{"none", Policy{}, req, nil},
		{"static only", Policy{}.Tags("static"), req, []string{"static"}},
		{"func only", Policy{}.TagFunc(byPath), req, []string{"path:/products/7", "static"}},
		{"static and func, deduplicated", Policy{}.Tags("static").TagFunc(byPath), req, []string{"static", "path:/products/7"}},
		{"nil request skips func", Policy{}.Tags("static").TagFunc(byPath), nil, []string{"static"}},
		{"func returning nil", Policy{}.Tags("s").TagFunc(func(*http.Request) []string { return nil }), req, []string{"s"}},
		{"TagFunc(nil) removes", Policy{}.Tags("s").TagFunc(byPath).TagFunc(nil), req, []string{"s"}},
		{"later TagFunc replaces", Policy{}.TagFunc(byPath).TagFunc(func(*http.Request) []string { return []string{"x"} }), req, []string{"x"}},
	}
	for _, tt := range tests {
		checkStrings(t, tt.name, tt.p.TagsFor(tt.r), tt.want)
	}

	// The static slice is handed out without allocating, but clipped so an
	// append by the caller cannot write into the Policy.
	p := Policy{}.Tags("a", "b")
	if n := testing.AllocsPerRun(100, func() { _ = p.TagsFor(req) }); n != 0 {
		t.Errorf("TagsFor without TagFunc: %v allocs, want 0", n)
	}
	_ = append(p.TagsFor(req), "c")
	_ = append(p.VaryFields(), "X")
	_ = append(p.IgnoredQuery(), "x")
	checkStrings(t, "after caller append", p.TagsFor(req), []string{"a", "b"})
}

// TestPolicyImmutable derives several policies from one base, with room
// left in the base's slices, and checks that none sees the others' changes.
func TestPolicyImmutable(t *testing.T) {
	base := Public(time.Second).Vary("Accept").Tags("t1").IgnoreQuery("q1")
	// Force spare capacity, which is where shared backing arrays would bite.
	base.vary = append(make([]string, 0, 8), base.vary...)
	base.tags = append(make([]string, 0, 8), base.tags...)
	base.ignoreQuery = append(make([]string, 0, 8), base.ignoreQuery...)

	a := base.Vary("Cookie").Tags("a").IgnoreQuery("qa").SMaxAge(time.Minute).MustRevalidate()
	b := base.Vary("Origin").Tags("b").IgnoreQuery("qb").StaleIfError(time.Hour)

	checkStrings(t, "base vary", base.VaryFields(), []string{"Accept"})
	checkStrings(t, "a vary", a.VaryFields(), []string{"Accept", "Cookie"})
	checkStrings(t, "b vary", b.VaryFields(), []string{"Accept", "Origin"})
	checkStrings(t, "base tags", base.TagsFor(nil), []string{"t1"})
	checkStrings(t, "a tags", a.TagsFor(nil), []string{"t1", "a"})
	checkStrings(t, "b tags", b.TagsFor(nil), []string{"t1", "b"})
	checkStrings(t, "base query", base.IgnoredQuery(), []string{"q1"})
	checkStrings(t, "a query", a.IgnoredQuery(), []string{"q1", "qa"})
	checkStrings(t, "b query", b.IgnoredQuery(), []string{"q1", "qb"})

	for _, c := range []struct{ name, got, want string }{
		{"base", base.CacheControl(), "public, max-age=1"},
		{"a", a.CacheControl(), "public, max-age=1, s-maxage=60, must-revalidate"},
		{"b", b.CacheControl(), "public, max-age=1, stale-if-error=3600"},
	} {
		if c.got != c.want {
			t.Errorf("%s CacheControl() = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestPolicyApply(t *testing.T) {
	p := Public(10*time.Second).CDNMaxAge(time.Minute).Vary("Accept-Encoding", "Accept")
	tests := []struct {
		name   string
		p      Policy
		before http.Header
		want   http.Header
	}{
		{
			name:   "sets all on empty header",
			p:      p,
			before: http.Header{},
			want: http.Header{
				"Cache-Control":     {"public, max-age=10"},
				"Cdn-Cache-Control": {"public, max-age=60"},
				"Vary":              {"Accept-Encoding, Accept"},
			},
		},
		{
			name: "handler-set headers win",
			p:    p,
			before: http.Header{
				"Cache-Control":     {"no-store"},
				"Cdn-Cache-Control": {"max-age=5"},
			},
			want: http.Header{
				"Cache-Control":     {"no-store"},
				"Cdn-Cache-Control": {"max-age=5"},
				"Vary":              {"Accept-Encoding, Accept"},
			},
		},
		{
			name:   "handler Cache-Control also suppresses the policy's CDN field",
			p:      p,
			before: http.Header{"Cache-Control": {"no-store"}},
			want: http.Header{
				"Cache-Control": {"no-store"},
				"Vary":          {"Accept-Encoding, Accept"},
			},
		},
		{
			name:   "handler CDN-Cache-Control only",
			p:      p,
			before: http.Header{"Cdn-Cache-Control": {"no-store"}},
			want: http.Header{
				"Cache-Control":     {"public, max-age=10"},
				"Cdn-Cache-Control": {"no-store"},
				"Vary":              {"Accept-Encoding, Accept"},
			},
		},
		{
			name:   "Vary merged case-insensitively",
			p:      p,
			before: http.Header{"Vary": {"accept-encoding", "Cookie"}},
			want: http.Header{
				"Cache-Control":     {"public, max-age=10"},
				"Cdn-Cache-Control": {"public, max-age=60"},
				"Vary":              {"accept-encoding, Cookie, Accept"},
			},
		},
		{
			name:   "Vary already complete is untouched",
			p:      p,
			before: http.Header{"Vary": {"ACCEPT, Accept-Encoding"}},
			want: http.Header{
				"Cache-Control":     {"public, max-age=10"},
				"Cdn-Cache-Control": {"public, max-age=60"},
				"Vary":              {"ACCEPT, Accept-Encoding"},
			},
		},
		{
			name:   "no CDN field when CDNMaxAge unset",
			p:      Private(),
			before: http.Header{},
			want:   http.Header{"Cache-Control": {"private"}},
		},
		{
			name:   "zero policy sets nothing",
			p:      Policy{},
			before: http.Header{"Vary": {"Cookie"}},
			want:   http.Header{"Vary": {"Cookie"}},
		},
		{
			name:   "cache-only policy sets no Cache-Control",
			p:      Policy{}.Tags("t").NegativeTTL(time.Second),
			before: http.Header{},
			want:   http.Header{},
		},
		{
			name:   "Vary-only policy",
			p:      Policy{}.Vary("Accept"),
			before: http.Header{},
			want:   http.Header{"Vary": {"Accept"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Apply(tt.before)
			if !reflect.DeepEqual(tt.before, tt.want) {
				t.Errorf("got %q, want %q", tt.before, tt.want)
			}
		})
	}

	// A nil header must not panic.
	p.Apply(nil)
}

func TestPolicyApplyRecorder(t *testing.T) {
	p := Public(time.Minute).Vary("Accept")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/own" {
			w.Header().Set("Cache-Control", "max-age=1")
		}
		p.Apply(w.Header())
		w.WriteHeader(http.StatusOK)
	})
	for _, c := range []struct{ path, want string }{
		{"/", "public, max-age=60"},
		{"/own", "max-age=1"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.path, nil))
		if got := rec.Result().Header.Get("Cache-Control"); got != c.want {
			t.Errorf("%s: Cache-Control = %q, want %q", c.path, got, c.want)
		}
	}
}

func TestPolicyCacheControlAllocs(t *testing.T) {
	p := Public(10 * time.Second).SMaxAge(time.Minute).StaleWhileRevalidate(5 * time.Minute).CDNMaxAge(time.Hour)
	if n := testing.AllocsPerRun(100, func() {
		sinkString = p.CacheControl()
		sinkCDN = p.CDNCacheControl()
	}); n != 0 {
		t.Errorf("CacheControl: %v allocs, want 0", n)
	}
}

var sinkString, sinkCDN string

func checkStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}
