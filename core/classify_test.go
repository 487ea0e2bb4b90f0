package core

import (
	"net/http"
	"strings"
	"testing"
)

// Every unkeyed field is indexed by the canonical name net/http files it under, and starts
// with 'X' or 'F': classify skips other names on that basis.
func TestUnkeyedFieldsFirstLetter(t *testing.T) {
	for _, f := range UnkeyedFields {
		if _, ok := unkeyedDetail[http.CanonicalHeaderKey(f)]; !ok {
			t.Errorf("%q is not indexed by its canonical name", f)
		}
		if !strings.HasPrefix(f, "X") && !strings.HasPrefix(f, "F") {
			t.Errorf("%q starts with neither X nor F: classify would miss it", f)
		}
	}
}

func TestClassify(t *testing.T) {
	c, err := New(Config{TrustHeaders: []string{"x-forwarded-proto", "X-Tenant"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	cf, err := New(Config{TrustForwardedHost: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cf.Close() }()
	for _, tt := range []struct {
		name   string
		c      *Cache
		header http.Header
		body   bool
		want   string
	}{
		{"plain", c, nil, false, ""},
		{"body", c, nil, true, detailRequestBody},
		{"forwarded host", c, http.Header{"X-Forwarded-Host": {"evil"}}, false, "unkeyed-x-forwarded-host"},
		{"method override", c, http.Header{"X-Http-Method-Override": {"DELETE"}}, false, "unkeyed-x-http-method-override"},
		{"url override", c, http.Header{"X-Original-Url": {"/admin"}}, false, "unkeyed-x-original-url"},
		{"forwarded", c, http.Header{"Forwarded": {"host=evil"}}, false, "unkeyed-forwarded"},
		{"trusted proto", c, http.Header{"X-Forwarded-Proto": {"https"}}, false, ""},
		{"bad trusted proto", c, http.Header{"X-Forwarded-Proto": {"gopher"}}, false, detailInvalidProt},
		{"trusted other", c, http.Header{"X-Tenant": {"a"}}, false, ""},
		{"trusted host", cf, http.Header{"X-Forwarded-Host": {"shop.example:8443"}}, false, ""},
		{"host with path", cf, http.Header{"X-Forwarded-Host": {"evil.example/x"}}, false, detailInvalidHost},
		{"host with space", cf, http.Header{"X-Forwarded-Host": {"a b"}}, false, detailInvalidHost},
		{"two hosts", cf, http.Header{"X-Forwarded-Host": {"a", "b"}}, false, detailInvalidHost},
		{"other fields", c, http.Header{"Accept": {"*/*"}, "X-Request-Id": {"1"}}, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "http://example.com/a", nil)
			if tt.header != nil {
				r.Header = tt.header
			}
			if tt.body {
				r.ContentLength = 4
				r.Body = http.NoBody
			}
			if got := tt.c.classify(r); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCodingFor(t *testing.T) {
	req := func(ae ...string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, "http://example.com/", nil)
		if ae != nil {
			r.Header["Accept-Encoding"] = ae
		}
		return r
	}
	keyed := string(variantValues(nil, []string{"Accept-Encoding"}, req("gzip")))
	for _, tt := range []struct {
		name string
		e    entry
		r    *http.Request
		want bool
	}{
		{"identity entry", entry{}, req(), true},
		{"accepted", entry{ce: "gzip"}, req("gzip, br"), true},
		{"refused with q=0", entry{ce: "gzip"}, req("gzip;q=0, br"), false},
		{"not listed", entry{ce: "br"}, req("gzip"), false},
		{"no Accept-Encoding: identity only", entry{ce: "gzip"}, req(), false},
		{"star", entry{ce: "zstd"}, req("*"), true},
		{"keyed on Accept-Encoding: the origin's choice", entry{ce: "x-custom", vkey: keyed}, req("gzip"), true},
	} {
		if got := tt.e.codingFor(tt.r); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
