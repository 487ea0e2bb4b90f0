package core

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Fuzz targets of the security suite (issue 12): key building and Vary normalisation.

// secIgnoreConfig and secIgnoreRoute are the ignored query parameters FuzzPrimaryKey uses:
// one from Config.IgnoreQuery, one as a route policy's.
var (
	secIgnoreConfig = []string{"utm_source"}
	secIgnoreRoute  = []string{"fbclid"}
)

// validHostByte is the set of bytes net/http's server accepts in a Host field
// (golang.org/x/net/http/httpguts.ValidHostHeader): requests with other bytes never reach a
// handler.
var validHostByte = func() (v [256]bool) {
	for _, c := range "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!$%&()*+,-.:;=[]'_~" {
		v[c] = true
	}
	return v
}()

// fuzzRequest builds the request a net/http server would hand the cache for a request line
// "method target" (target being path, escaped, and the raw query) and a Host field, over
// TLS or not. ok is false for what a server never delivers to a handler, and for methods
// other than GET and HEAD (the only ones looked up).
func fuzzRequest(secure bool, method, host, path, query string) (r *http.Request, ok bool) {
	if method != http.MethodGet && method != http.MethodHead {
		return nil, false
	}
	for i := 0; i < len(host); i++ {
		if !validHostByte[host[i]] {
			return nil, false
		}
	}
	target := (&url.URL{Path: path}).EscapedPath()
	if !strings.HasPrefix(target, "/") {
		return nil, false
	}
	if query != "" {
		target += "?" + query
	}
	for i := 0; i < len(target); i++ {
		if target[i] <= ' ' || target[i] == 0x7f { // the request line has no room for them
			return nil, false
		}
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, false
	}
	r = &http.Request{Method: method, URL: u, Host: host, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}}
	if secure {
		r.TLS = &tls.ConnectionState{}
	}
	return r, true
}

// queryName is the decoded name of a query parameter, as handlers see it.
func queryName(part string) string {
	name, _, _ := strings.Cut(part, "=")
	if u, err := url.QueryUnescape(name); err == nil {
		return u
	}
	return name
}

// sameRequest reports whether two requests are the same as far as a handler can tell, up to
// the intended normalisations of the primary key: GET and HEAD share an entry, the host is
// case-insensitive, empty and ignored query parameters are dropped, and parameters of
// different names may be reordered. The relative order of one name's values is kept.
func sameRequest(a, b *http.Request) bool {
	return (a.TLS != nil) == (b.TLS != nil) &&
		string(appendLower(nil, a.Host)) == string(appendLower(nil, b.Host)) &&
		a.URL.EscapedPath() == b.URL.EscapedPath() &&
		slices.Equal(canonicalQuery(a.URL.RawQuery), canonicalQuery(b.URL.RawQuery))
}

func canonicalQuery(q string) []string {
	var parts []string
	for _, p := range strings.Split(q, "&") {
		if p == "" {
			continue
		}
		if n := queryName(p); slices.Contains(secIgnoreConfig, n) || slices.Contains(secIgnoreRoute, n) {
			continue
		}
		parts = append(parts, p)
	}
	slices.SortStableFunc(parts, func(x, y string) int { return strings.Compare(queryName(x), queryName(y)) })
	return parts
}

func describe(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return fmt.Sprintf("%s %s://%s%s", r.Method, scheme, r.Host, r.RequestURI)
}

// secFuzzReq is the fuzzed part of a request.
type secFuzzReq struct {
	secure                    bool
	method, host, path, query string
}

// neighbours returns requests an attacker derives from q to land on its key: the other
// scheme, the query parameters reordered, their names percent-encoded, empty parameters
// added, the host's case changed. Some are the same request (and may share its key), most
// are not.
func (q secFuzzReq) neighbours() []secFuzzReq {
	out := []secFuzzReq{q, q, q, q}
	out[0].secure = !q.secure
	out[1].host = strings.ToUpper(q.host)
	out[2].query = "&" + strings.ReplaceAll(q.query, "&", "&&") + "&"
	out[3].method = map[string]string{http.MethodGet: http.MethodHead, http.MethodHead: http.MethodGet}[q.method]
	parts := strings.Split(q.query, "&")
	with := func(ps []string) {
		n := q
		n.query = strings.Join(ps, "&")
		out = append(out, n)
	}
	reversed := slices.Clone(parts)
	slices.Reverse(reversed)
	with(reversed)
	for i := 0; i+1 < len(parts) && i < 8; i++ {
		ps := slices.Clone(parts)
		ps[i], ps[i+1] = ps[i+1], ps[i]
		with(ps)
	}
	encoded := slices.Clone(parts)
	for i, p := range encoded {
		if p != "" && p[0] != '%' {
			encoded[i] = fmt.Sprintf("%%%02X", p[0]) + p[1:]
		}
	}
	with(encoded)
	return out
}

// FuzzPrimaryKey: two requests that a handler can tell apart never share a primary key, and
// the key of a request is the same every time it is built. Each input is checked against a
// second fuzzed request and against its neighbours. Today's known merges: the scheme is not
// in the key, and repeated parameters are sorted by value.
func FuzzPrimaryKey(f *testing.F) {
	type req = secFuzzReq
	for _, p := range [][2]req{
		{{false, "GET", "example.com", "/a", "a=1&a=2"}, {false, "GET", "example.com", "/a", "a=2&a=1"}},
		{{false, "GET", "example.com", "/where", ""}, {true, "GET", "example.com", "/where", ""}},
		{{false, "GET", "Example.COM", "/a", "b=2&a=1"}, {false, "HEAD", "example.com", "/a", "a=1&b=2"}},
		{{false, "GET", "example.com", "/p", "utm_source=%3Cscript%3E&id=1"}, {false, "GET", "example.com", "/p", "id=1&fbclid=x"}},
		{{false, "GET", "example.com", "/a%2Fb", ""}, {false, "GET", "example.com", "/a/b", ""}},
		{{false, "GET", "example.com", "/a", "%61=1&a=2"}, {false, "GET", "example.com", "/a", "a=2&%61=1"}},
		{{false, "GET", "example.com", "/", "a=1&&b=2&"}, {false, "GET", "example.com", "/", "b=2&a=1"}},
	} {
		f.Add(p[0].secure, p[0].method, p[0].host, p[0].path, p[0].query, p[1].secure, p[1].method, p[1].host, p[1].path, p[1].query)
	}
	c, err := New(Config{IgnoreQuery: secIgnoreConfig})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = c.Close() })
	f.Fuzz(func(t *testing.T, s1 bool, m1, h1, p1, q1 string, s2 bool, m2, h2, p2, q2 string) {
		a, ok := fuzzRequest(s1, m1, h1, p1, q1)
		if !ok {
			return
		}
		b, ok := fuzzRequest(s2, m2, h2, p2, q2)
		if !ok {
			return
		}
		ka := string(c.primary(nil, a, secIgnoreRoute))
		if again := string(c.primary(nil, a, secIgnoreRoute)); again != ka {
			t.Fatalf("%s: primary key %q, then %q", describe(a), ka, again)
		}
		kb := string(c.primary(nil, b, secIgnoreRoute))
		if ka == kb && !sameRequest(a, b) {
			t.Fatalf("%s and %s are different requests but share the primary key %q", describe(a), describe(b), ka)
		}
		for _, n := range (secFuzzReq{s1, m1, h1, p1, q1}).neighbours() {
			if d, ok := fuzzRequest(n.secure, n.method, n.host, n.path, n.query); ok {
				if kd := string(c.primary(nil, d, secIgnoreRoute)); kd == ka && !sameRequest(a, d) {
					t.Fatalf("%s and %s are different requests but share the primary key %q", describe(a), describe(d), ka)
				}
			}
		}
	})
}

// FuzzVaryNormalise: normalising a request field for variant selection never panics, does not
// change the request's header, and is deterministic; the variant hash is never 0.
func FuzzVaryNormalise(f *testing.F) {
	f.Add("X-Custom", "gzip;q=0.5, br", "")
	f.Add("Accept-Encoding", "dcz, compress;q=0", "*;q=0")
	f.Add("User-Agent", "Foo  Bar", "")
	f.Add("Cookie", "a=1, b=2", "c=3")
	f.Add("Accept-Language", ",,, ;q=, \t", "EN-us")
	c, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = c.Close() })
	f.Fuzz(func(t *testing.T, name, line1, line2 string) {
		names := []string{"Accept-Encoding", "Accept-Language", "Accept", "Accept-Charset", "User-Agent", "Cookie", http.CanonicalHeaderKey(name)}
		for _, n := range names {
			lines := []string{line1}
			if line2 != "" {
				lines = append(lines, line2)
			}
			h := http.Header{n: lines}
			before := h.Clone()
			x := appendNormalised(nil, n, h[n])
			y := appendNormalised(nil, n, h[n])
			if string(x) != string(y) {
				t.Fatalf("%s %q: normalised %q, then %q", n, lines, x, y)
			}
			fields := []string{n}
			r := &http.Request{Header: h}
			v := c.variantHash(variantValues(nil, fields, r))
			if v == 0 {
				t.Fatalf("%s %q: variant hash 0", n, lines)
			}
			if again := c.variantHash(variantValues(nil, fields, r)); again != v {
				t.Fatalf("%s %q: variant hash %x, then %x", n, lines, v, again)
			}
			if !slices.Equal(h[n], before[n]) || len(h) != len(before) {
				t.Fatalf("%s %q: normalising changed the request header to %q", n, before[n], h)
			}
		}
	})
}

// FuzzVaryExact: fields without a list grammar select a variant by their exact value (a server
// hands values over trimmed of surrounding whitespace, so only that is ignored). Today's known
// merge: every field is split at commas and space-folded, so "Foo  Bar" and "Foo Bar", or
// "a=1, b=2" and "a=1,b=2", share a variant.
func FuzzVaryExact(f *testing.F) {
	f.Add("Foo  Bar", "Foo Bar")
	f.Add("a=1, b=2", "a=1,b=2")
	f.Add("Mozilla/5.0 (X11)", "mozilla/5.0 (x11)")
	f.Add("x", "x ")
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.Trim(a, " \t") == strings.Trim(b, " \t") {
			return
		}
		for _, name := range []string{"User-Agent", "Cookie", "X-Variant"} {
			na := appendNormalised(nil, name, []string{a})
			nb := appendNormalised(nil, name, []string{b})
			if string(na) == string(nb) {
				t.Fatalf("%s %q and %q normalise to one variant value %q", name, a, b, na)
			}
		}
	})
}
