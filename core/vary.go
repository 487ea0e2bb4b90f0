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
//   - Accept-Language: see appendLanguages;
//   - other fields with list grammar (RFC 9110 §5.6.1: Accept, Accept-Charset):
//     lines combined, whitespace around "," ";" "=" dropped outside quoted strings, and
//     lower-cased where the grammar is case-insensitive (charsets, language tags);
//   - every other field (User-Agent, Cookie, …): exact bytes, lines kept apart.
func appendNormalised(dst []byte, name string, lines []string) []byte {
	switch name {
	case "Accept-Encoding":
		return appendCodings(dst, lines)
	case "Accept-Language":
		return appendLanguages(dst, lines)
	case "Accept", "Accept-Charset":
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

// appendLanguages writes an Accept-Language value (RFC 9110 §12.5.4) so that equivalent ones
// select one variant: each language range lower-cased (RFC 4647 §2.1: case-insensitive), in
// the order sent (it ranks ranges of equal weight, so "fr, en" and "en, fr" stay apart),
// with its weight written one way (q=1, the default, left out; "0.50" as "0.5") and left
// out when refused with q=0, as golang.org/x/text/language's parser reads them. An element
// with another parameter or an invalid weight is kept as appendElement writes it, so it is
// never merged with another.
func appendLanguages(dst []byte, lines []string) []byte {
	start := len(dst)
	for el := range elems(lines) {
		tag, params, hasParams := strings.Cut(el, ";")
		tag = strings.TrimSpace(tag)
		q := 1000
		if hasParams {
			k, v, _ := strings.Cut(params, "=")
			var ok bool
			if q, ok = qvalue(strings.TrimSpace(v)); !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
				if len(dst) > start {
					dst = append(dst, ',')
				}
				dst = appendElement(dst, el, true)
				continue
			}
		}
		if tag == "" || q == 0 {
			continue
		}
		if len(dst) > start {
			dst = append(dst, ',')
		}
		for i := 0; i < len(tag); i++ {
			ch := tag[i]
			if 'A' <= ch && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			dst = append(dst, ch)
		}
		if q < 1000 {
			dst = append(dst, ";q=0."...)
			d := []byte{byte('0' + q/100), byte('0' + q/10%10), byte('0' + q%10)}
			for len(d) > 1 && d[len(d)-1] == '0' {
				d = d[:len(d)-1]
			}
			dst = append(dst, d...)
		}
	}
	return dst
}

// qvalue parses a weight (RFC 9110 §12.4.2: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3"0" ]) in
// thousandths.
func qvalue(s string) (int, bool) {
	if s == "" || (s[0] != '0' && s[0] != '1') || len(s) > 5 || (len(s) > 1 && s[1] != '.') {
		return 0, false
	}
	n := int(s[0]-'0') * 1000
	scale := 100
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' || (n == 1000 && s[i] != '0') {
			return 0, false
		}
		n += int(s[i]-'0') * scale
		scale /= 10
	}
	return n, true
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
