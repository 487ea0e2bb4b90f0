package core

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/zeebo/xxh3"
)

// keyBuf is the scratch space of one key computation; it lives on the stack of the caller.
type keyBuf [512]byte

// The primary key (docs/ARCHITECTURE.md, "Keys") is the readable identity of a stored response. It is an
// injective encoding: every segment is length-prefixed ("<len>:<bytes>"), so no choice of
// host, path, query or application segments can make two different requests produce one
// key. It is stored in every entry and compared on every read, so even a colliding store key
// (a hash) can never serve one request another's answer.
//
//	G <scheme> <host> <target> [S <segments>]
//
//   - G: GET and HEAD share one entry (HEAD is served from GET);
//   - scheme: "https" for a TLS connection or a trusted X-Forwarded-Proto, else "http";
//   - host: Config.Host, else a trusted X-Forwarded-Host, else the request's Host, lower-cased;
//   - target: the request target as the outermost layer received it (RequestURI), so mounts
//     behind path rewriting (http.StripPrefix) never share entries; its query normalised by
//     appendQuery;
//   - segments: Config.KeySegments, when it returns any: 'S', their count, each segment
//     length-prefixed (appendSegments). It only ever adds to the key: the parts above stay.
//
// Trusted request fields (Config.TrustHeaders), and the Host a request arrived with when
// X-Forwarded-Host is trusted, are keyed as implicit Vary fields (see implicitVary): they
// select a variant of the URL, so a purge of the URL removes every one of them.

// keyParts are the inputs of a primary key that come from the request.
type keyParts struct {
	scheme string
	host   string
	path   string // escaped path as received
	query  string // raw query as received
	segs   string // encoded Config.KeySegments (appendSegments), "" for none
}

// primary builds the primary key of r into dst. ignore lists route-level ignored parameters.
// It is on the hit path: it writes the segments straight from the request.
func (c *Cache) primary(dst []byte, r *http.Request, ignore []string) []byte {
	path, query := receivedTarget(r)
	dst = append(dst, 'G')
	if r.TLS != nil {
		dst = append(dst, "5:https"...)
	} else if c.trustProto {
		dst = appendSegLower(dst, c.scheme(r))
	} else {
		dst = append(dst, "4:http"...)
	}
	dst = appendSegLower(dst, c.keyHost(r))
	dst = appendSegPath(dst, path)
	dst = c.appendQuery(dst, query, ignore)
	return append(dst, c.segmentsOf(r)...)
}

// scheme is the scheme of a request: https for TLS, else a trusted X-Forwarded-Proto, else
// http. (classify let only "http" or "https" through as the forwarded value.)
func (c *Cache) scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if c.trustProto {
		if v := r.Header.Get("X-Forwarded-Proto"); v != "" {
			return strings.ToLower(v)
		}
	}
	return "http"
}

// keyHost is the host of the key: Config.Host, else a trusted X-Forwarded-Host, else Host.
func (c *Cache) keyHost(r *http.Request) string {
	if c.cfg.Host != "" {
		return c.cfg.Host
	}
	if c.cfg.TrustForwardedHost {
		if fh := r.Header.Get("X-Forwarded-Host"); fh != "" {
			return fh
		}
	}
	if r.Host != "" {
		return r.Host
	}
	return r.URL.Host
}

// partsOf reads the key inputs of a request, for invalidations built from them.
func (c *Cache) partsOf(r *http.Request) keyParts {
	p := keyParts{scheme: c.scheme(r), host: c.keyHost(r), segs: c.segmentsOf(r)}
	p.path, p.query = receivedTarget(r)
	return p
}

// receivedTarget splits the request target the server received (RFC 9112 §3.2) into its
// escaped path and raw query. Requests built in process (no RequestURI) use their URL.
func receivedTarget(r *http.Request) (path, query string) {
	t := r.RequestURI
	if t == "" || t == "*" {
		return r.URL.EscapedPath(), r.URL.RawQuery
	}
	if t[0] != '/' { // absolute-form (a proxy request): drop scheme and authority
		if i := strings.Index(t, "://"); i >= 0 {
			t = t[i+3:]
			if j := strings.IndexByte(t, '/'); j >= 0 {
				t = t[j:]
			} else if j := strings.IndexByte(t, '?'); j >= 0 {
				t = "/" + t[j:]
			} else {
				t = "/"
			}
		}
	}
	path, query, _ = strings.Cut(t, "?")
	return path, query
}

func (c *Cache) primaryOf(dst []byte, p keyParts, ignore []string) []byte {
	dst = append(dst, 'G')
	dst = appendSeg(dst, p.scheme)
	dst = appendSegLower(dst, p.host)
	dst = appendSegPath(dst, p.path)
	dst = c.appendQuery(dst, p.query, ignore)
	return append(dst, p.segs...)
}

// appendSeg appends "<len>:<s>".
func appendSeg(dst []byte, s string) []byte {
	dst = appendLen(dst, len(s))
	return append(dst, s...)
}

func appendSegLower(dst []byte, s string) []byte {
	dst = appendLen(dst, len(s))
	return appendLower(dst, s)
}

// appendLen appends n and ':' (one or two digits without strconv: the common case).
func appendLen(dst []byte, n int) []byte {
	switch {
	case n < 10:
		return append(dst, byte('0'+n), ':')
	case n < 100:
		return append(dst, byte('0'+n/10), byte('0'+n%10), ':')
	}
	return append(strconv.AppendInt(dst, int64(n), 10), ':')
}

// appendSegPath appends a path segment with percent-encoding normalised (RFC 3986 §6.2.2):
// upper-case hex digits, and unreserved characters decoded, so "/a%7e" and "/a~" share one
// entry as they name one resource. Other escapes stay escaped.
func appendSegPath(dst []byte, path string) []byte {
	if strings.IndexByte(path, '%') < 0 {
		return appendSeg(dst, path)
	}
	var stack [256]byte
	b := stack[:0]
	for i := 0; i < len(path); i++ {
		ch := path[i]
		if ch == '%' && i+2 < len(path) && ishex(path[i+1]) && ishex(path[i+2]) {
			v := unhex(path[i+1])<<4 | unhex(path[i+2])
			if unreserved(v) {
				b = append(b, v)
			} else {
				b = append(b, '%', upperHex(path[i+1]), upperHex(path[i+2]))
			}
			i += 2
			continue
		}
		b = append(b, ch)
	}
	dst = appendLen(dst, len(b))
	return append(dst, b...)
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// unreserved reports RFC 3986 §2.3 unreserved characters.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// appendQuery writes the query segment: parameters ordered by name, the relative order of a
// repeated name kept (handlers read the first value: ?a=1&a=2 and ?a=2&a=1 differ, while
// ?a=1&b=2 and ?b=2&a=1 share one entry), ignored parameters dropped, empty ones skipped.
func (c *Cache) appendQuery(dst []byte, q string, ignore []string) []byte {
	if q == "" {
		return append(dst, "Q0:"...)
	}
	var stack, nstack [16]string
	parts, names := stack[:0], nstack[:0]
	for q != "" {
		var p string
		p, q, _ = strings.Cut(q, "&")
		if p == "" {
			continue
		}
		name := paramName(p)
		if c.ignored(name, ignore) {
			continue
		}
		// Insertion by name, after the equal names already there: a stable sort, cheap for
		// the handful of parameters a URL has.
		i := len(parts)
		parts, names = append(parts, p), append(names, name)
		for ; i > 0 && names[i-1] > name; i-- {
			parts[i], names[i] = parts[i-1], names[i-1]
		}
		parts[i], names[i] = p, name
	}
	dst = appendLen(append(dst, 'Q'), len(parts))
	for _, p := range parts {
		dst = appendSeg(dst, p)
	}
	return dst
}

// paramName returns a query parameter's name, unescaped when it is escaped.
func paramName(p string) string {
	name, _, _ := strings.Cut(p, "=")
	if strings.IndexByte(name, '%') >= 0 || strings.IndexByte(name, '+') >= 0 {
		if u, err := url.QueryUnescape(name); err == nil {
			name = u
		}
	}
	return name
}

func (c *Cache) ignored(name string, route []string) bool {
	return (len(c.cfg.IgnoreQuery) > 0 && slices.Contains(c.cfg.IgnoreQuery, name)) ||
		(len(route) > 0 && slices.Contains(route, name))
}

// withoutIgnored returns r as the handler must see it: ignored query parameters are left out
// of the key, so they must not reach the handler either, or an answer that reflects one would
// be stored under the clean key for everyone. r itself is returned when none is present.
func (c *Cache) withoutIgnored(r *http.Request, route []string) *http.Request {
	if len(c.cfg.IgnoreQuery) == 0 && len(route) == 0 {
		return r
	}
	return stripQuery(r, func(name string) bool { return c.ignored(name, route) })
}

// stripQuery returns a shallow copy of r whose query (URL and RequestURI) lacks the
// parameters drop names, or r itself when there is none.
func stripQuery(r *http.Request, drop func(name string) bool) *http.Request {
	q := r.URL.RawQuery
	if q == "" {
		return r
	}
	var b strings.Builder
	removed := false
	for rest := q; rest != ""; {
		var p string
		p, rest, _ = strings.Cut(rest, "&")
		if p != "" && drop(paramName(p)) {
			removed = true
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p)
	}
	if !removed {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.RawQuery = b.String()
	r2.URL = &u
	if r.RequestURI != "" {
		r2.RequestURI = u.RequestURI()
	}
	r2.Form, r2.PostForm = nil, nil
	return r2
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		dst = append(dst, b)
	}
	return dst
}

// keys holds the store keys derived from one primary key.
type keys struct {
	hash uint64 // keyed hash of the primary key
	gen  uint64 // namespace generation at the time of the lookup
}

// base appends "<ns>:{<hash>}:<gen>:v". The {…} hash tag keeps every key of a URL in one
// Redis Cluster slot.
func (c *Cache) base(dst []byte, k keys) []byte {
	dst = append(dst, c.cfg.Namespace...)
	dst = append(dst, ':', '{')
	dst = appendHex(dst, k.hash)
	dst = append(dst, '}', ':')
	dst = strconv.AppendUint(dst, k.gen, 10)
	return append(dst, ':', 'v')
}

// variantKey appends the key of one variant: base + ":" + hex(variant).
func (c *Cache) variantKey(dst []byte, k keys, variant uint64) []byte {
	return appendVariant(c.base(dst, k), variant)
}

// appendVariant appends ":" + hex(variant) to a base key (nothing for variant 0).
func appendVariant(base []byte, variant uint64) []byte {
	if variant == 0 {
		return base
	}
	return appendHex(append(base, ':'), variant)
}

const hexDigits = "0123456789abcdef"

func appendHex(dst []byte, v uint64) []byte {
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = hexDigits[v&0xf]
		v >>= 4
	}
	return append(dst, b[:]...)
}

// hashKey is the keyed hash of store keys: xxh3 seeded with the deployment's secret
// (Config.KeySecret, or a random secret shared by the fleet through Redis), so that nobody
// can compute colliding requests offline. Entries carry their full key, verified on read, so
// even a collision only costs a miss.
func (c *Cache) hashKey(b []byte) uint64 {
	if c.hash != nil {
		return c.hash(slices.Clone(b)) // a copy: b would escape through the func value
	}
	return xxh3.HashSeed(b, c.seed.Load())
}

// lockSuffix names the stampede lock of a key; it shares the key's hash tag.
const lockSuffix = ":lock"

// takeoverSuffix names the lock a waiter takes over a slow holder's fill with (after
// lockSuffix): one instance of the fleet runs the handler again, not every waiter.
const takeoverSuffix = ":takeover"
