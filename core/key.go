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
type keyBuf [256]byte

// primary builds the readable primary key (docs/ARCHITECTURE.md, "Keys") into dst:
// method class, host, escaped path and the normalised query. Only the request Host is used,
// forwarded-host headers are not trusted unless Config.TrustForwardedHost.
func (c *Cache) primary(dst []byte, r *http.Request, ignore []string) []byte {
	return c.primaryOf(dst, c.requestHost(r), r.URL.EscapedPath(), r.URL.RawQuery, ignore)
}

func (c *Cache) primaryOf(dst []byte, host, path, query string, ignore []string) []byte {
	dst = append(dst, 'G', '|') // GET and HEAD share one entry (HEAD is served from GET)
	dst = appendLower(dst, host)
	dst = append(dst, '|')
	dst = append(dst, path...)
	return appendQuery(dst, query, c.cfg.IgnoreQuery, ignore)
}

// appendQuery writes the query with its parameters sorted and the ignored ones dropped, so
// ?a=1&b=2 and ?b=2&a=1 share one entry.
func appendQuery(dst []byte, q string, ignoreA, ignoreB []string) []byte {
	if q == "" {
		return dst
	}
	var stack [16]string
	parts := stack[:0]
	for q != "" {
		var p string
		p, q, _ = strings.Cut(q, "&")
		if p == "" {
			continue
		}
		name, _, _ := strings.Cut(p, "=")
		if strings.IndexByte(name, '%') >= 0 || strings.IndexByte(name, '+') >= 0 {
			if u, err := url.QueryUnescape(name); err == nil {
				name = u
			}
		}
		if slices.Contains(ignoreA, name) || slices.Contains(ignoreB, name) {
			continue
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return dst
	}
	slices.Sort(parts)
	dst = append(dst, '?')
	for i, p := range parts {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p...)
	}
	return dst
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
	hash uint64 // xxh3 of the readable primary key
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

func hashBytes(b []byte) uint64 { return xxh3.Hash(b) }

// lockSuffix names the stampede lock of a key; it shares the key's hash tag.
const lockSuffix = ":lock"
