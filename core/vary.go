package core

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// varyFields returns the canonical field names of the response's Vary header lines, and
// whether one of them is "*" (RFC 9111 §4.1: never matches, so never stored).
func varyFields(h http.Header) (fields []string, star bool) {
	for f := range elems(h["Vary"]) {
		if f == "*" {
			return nil, true
		}
		f = http.CanonicalHeaderKey(f)
		if !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	slices.Sort(fields)
	return fields, false
}

// variantValues appends the secondary key of a request (RFC 9111 §4.1): for each field the
// stored response varies on, its name and its value normalised by the field's grammar. The
// entry stores it and every read compares it, so only requests the origin cannot tell apart
// share a variant. Absent and empty fields differ. "Host" is the Host the request arrived
// with (net/http keeps it out of the header map).
func variantValues(dst []byte, fields []string, r *http.Request) []byte {
	for _, f := range fields {
		dst = appendSeg(dst, f)
		lines, ok := r.Header[f]
		if f == "Host" {
			lines, ok = []string{r.Host}, true
		}
		if !ok {
			dst = append(dst, '-')
			continue
		}
		dst = append(dst, '=')
		var stack [256]byte
		dst = appendSeg(dst, string(appendNormalised(stack[:0], f, lines)))
	}
	return dst
}

// variantHash selects the variant key for a request's secondary key. It never returns 0
// (0 means "no Vary").
func (c *Cache) variantHash(vkey []byte) uint64 {
	v := c.hashKey(vkey)
	if v == 0 {
		v = 1
	}
	return v
}

// appendNormalised writes a request field's value so that requests with the same semantics
// select one variant (RFC 9111 §4.1: "normalizing both header values in a way that is known
// to have identical semantics"), and nothing else is merged:
//   - Accept-Encoding: the set of codings, lower-cased, sorted, without those refused with
//     q=0 (RFC 9110 §12.5.3); every coding is kept, known to the cache or not;
//   - fields with list grammar (RFC 9110 §5.6.1: Accept, Accept-Charset, Accept-Language):
//     lines combined, whitespace around "," ";" "=" dropped outside quoted strings, and
//     lower-cased where the grammar is case-insensitive (charsets, language tags);
//   - every other field (User-Agent, Cookie, …): exact bytes, lines kept apart.
func appendNormalised(dst []byte, name string, lines []string) []byte {
	switch name {
	case "Accept-Encoding":
		return appendCodings(dst, lines)
	case "Accept", "Accept-Charset", "Accept-Language":
		return appendList(dst, lines, name != "Accept")
	}
	for i, l := range lines {
		if i > 0 {
			dst = append(dst, '\n') // cannot occur in a field value
		}
		dst = append(dst, l...)
	}
	return dst
}

// appendList normalises a list-valued field; see appendNormalised.
func appendList(dst []byte, lines []string, fold bool) []byte {
	start := len(dst)
	for el := range elems(lines) {
		if len(dst) > start {
			dst = append(dst, ',')
		}
		dst = appendElement(dst, el, fold)
	}
	return dst
}

// appendElement copies one trimmed list element, dropping whitespace around ";" and "=" and
// folding runs of whitespace to one space, outside quoted strings (kept verbatim).
func appendElement(dst []byte, el string, fold bool) []byte {
	quoted, escaped, space, afterSep := false, false, false, false
	for i := 0; i < len(el); i++ {
		ch := el[i]
		if quoted {
			dst = append(dst, ch)
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				quoted = false
			}
			continue
		}
		switch ch {
		case ' ', '\t':
			space = true
			continue
		case ';', '=':
			space, afterSep = false, true
			dst = append(dst, ch)
			continue
		case '"':
			quoted = true
		}
		if space && !afterSep {
			dst = append(dst, ' ')
		}
		space, afterSep = false, false
		if fold && 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		dst = append(dst, ch)
	}
	return dst
}

// appendCodings writes the content codings a request accepts: sorted, lower-cased, deduped,
// refused ones (q=0) left out; "gzip;q=0.8, br" and "BR,gzip" select the same variant, while
// "dcz" or "compress" never share one with "gzip".
func appendCodings(dst []byte, lines []string) []byte {
	var stack [16]string
	codings := stack[:0]
	for el := range elems(lines) {
		coding, params, _ := strings.Cut(el, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding == "" || refused(params) {
			continue
		}
		if coding == "x-gzip" { // RFC 9110 §8.4.1.3
			coding = "gzip"
		}
		if !slices.Contains(codings, coding) {
			codings = append(codings, coding)
		}
	}
	slices.Sort(codings)
	for i, c := range codings {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, c...)
	}
	return dst
}

// codingFor is the last guard on a hit: an entry with a content coding is served to r only
// when r accepts it (acceptsCoding), or when the entry's variant is keyed on Accept-Encoding,
// so that r sent the very value the origin chose this coding for (RFC 9111 §4.1: the origin
// decides; a client's Accept-Encoding is a preference).
func (e *entry) codingFor(r *http.Request) bool {
	return e.ce == "" || strings.Contains(e.vkey, "15:Accept-Encoding") ||
		acceptsCoding(r.Header["Accept-Encoding"], e.ce)
}

// acceptsCoding reports whether a request with these Accept-Encoding lines accepts a response
// in content coding ce (RFC 9110 §12.5.3). A request without Accept-Encoding is taken to want
// identity only: the safe reading for a shared cache (a miss costs less than an unreadable
// body). It is the last guard on a hit; Vary normally keeps such requests apart already.
func acceptsCoding(lines []string, ce string) bool {
	if ce == "" || strings.EqualFold(ce, "identity") {
		return true
	}
	star := false
	for el := range elems(lines) {
		coding, params, _ := strings.Cut(el, ";")
		coding = strings.TrimSpace(coding)
		switch {
		case strings.EqualFold(coding, ce), coding == "x-gzip" && strings.EqualFold(ce, "gzip"):
			return !refused(params)
		case coding == "*":
			star = !refused(params)
		}
	}
	return star
}

// refused reports a weight of zero ("q=0", "q=0.0", …; RFC 9110 §12.4.2).
func refused(params string) bool {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			v = strings.TrimSpace(v)
			f, err := strconv.ParseFloat(v, 64)
			return err == nil && f == 0
		}
	}
	return false
}
