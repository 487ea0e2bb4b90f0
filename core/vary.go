package core

import (
	"net/http"
	"slices"
	"strings"
)

// varyFields returns the canonical field names of the response's Vary header lines, and
// whether one of them is "*" (RFC 9111 §4.1: never matches, so never stored).
func varyFields(h http.Header) (fields []string, star bool) {
	for _, line := range h["Vary"] {
		for _, f := range appendTokens(nil, line) {
			if f == "*" {
				return nil, true
			}
			f = http.CanonicalHeaderKey(f)
			if !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
		}
	}
	slices.Sort(fields)
	return fields, false
}

// variantHash selects the variant for a request (RFC 9111 §4.1): the normalised values of the
// request fields the stored response varies on. It never returns 0 (0 means "no Vary").
func variantHash(fields []string, h http.Header) uint64 {
	var stack [512]byte
	b := stack[:0]
	for _, f := range fields {
		b = append(b, f...)
		b = append(b, ':')
		b = appendNormalised(b, f, h[f])
		b = append(b, '\n')
	}
	v := hashBytes(b)
	if v == 0 {
		v = 1
	}
	return v
}

// appendNormalised writes a request field's value in a canonical form, so that requests which
// the origin cannot tell apart select one variant (RFC 9111 §4.1: "normalizing both header
// values in a way that is known to have identical semantics"):
//   - several lines are combined with commas (RFC 9110 §5.3);
//   - whitespace around list elements is dropped and runs of spaces are folded;
//   - fields whose grammar is case-insensitive (Accept-Encoding, Accept-Language, Accept,
//     Accept-Charset) are lower-cased;
//   - Accept-Encoding is reduced to the codings the cache can tell apart (see acceptEncoding).
func appendNormalised(dst []byte, name string, lines []string) []byte {
	if name == "Accept-Encoding" {
		return append(dst, acceptEncoding(lines)...)
	}
	fold := name == "Accept-Language" || name == "Accept" || name == "Accept-Charset"
	first := true
	for _, line := range lines {
		for line != "" {
			var el string
			el, line, _ = strings.Cut(line, ",")
			el = strings.TrimSpace(el)
			if el == "" {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			space := false
			for i := 0; i < len(el); i++ {
				c := el[i]
				if c == ' ' || c == '\t' {
					space = true
					continue
				}
				if space {
					dst = append(dst, ' ')
					space = false
				}
				if fold && 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				dst = append(dst, c)
			}
		}
	}
	return dst
}

// acceptEncoding reduces Accept-Encoding to the set of content codings a response could
// differ on (br, gzip, zstd, deflate), in a fixed order, dropping those refused with q=0.
// "gzip;q=0.8, br" and "br,gzip" select the same variant.
func acceptEncoding(lines []string) string {
	var br, gz, zs, df, any bool
	for _, line := range lines {
		for line != "" {
			var el string
			el, line, _ = strings.Cut(line, ",")
			coding, params, _ := strings.Cut(el, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if refused(params) {
				continue
			}
			switch coding {
			case "br":
				br = true
			case "gzip", "x-gzip":
				gz = true
			case "zstd":
				zs = true
			case "deflate":
				df = true
			case "*":
				any = true
			}
		}
	}
	if any {
		br, gz, zs, df = true, true, true, true
	}
	switch {
	case !br && !gz && !zs && !df:
		return "identity"
	}
	var b strings.Builder
	for _, c := range [...]struct {
		on   bool
		name string
	}{{br, "br"}, {df, "deflate"}, {gz, "gzip"}, {zs, "zstd"}} {
		if c.on {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(c.name)
		}
	}
	return b.String()
}

// refused reports a weight of zero ("q=0", "q=0.0", …; RFC 9110 §12.4.2).
func refused(params string) bool {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			v = strings.TrimSpace(v)
			return strings.Trim(v, "0.") == "" && v != ""
		}
	}
	return false
}
