package etag

import "strings"

// This file holds entity-tag parsing and comparison (RFC 9110 §8.8.3) and the
// list matching behind If-Match (§13.1.1) and If-None-Match (§13.1.2).
//
//	entity-tag = [ weak ] opaque-tag
//	weak       = %s"W/"
//	opaque-tag = DQUOTE *etagc DQUOTE
//	etagc      = %x21 / %x23-7E / obs-text
//
// Everything here works by slicing the input; nothing allocates.

// parse splits an entity-tag into its opaque-tag (quotes included) and
// whether it is weak. ok is false when t is not a valid entity-tag; the weak
// indicator is case-sensitive, as §8.8.3 requires.
func parse(t string) (opaque string, weak, ok bool) {
	if len(t) >= 2 && t[0] == 'W' && t[1] == '/' {
		weak = true
		t = t[2:]
	}
	if len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' {
		return "", false, false
	}
	for i := 1; i < len(t)-1; i++ {
		if c := t[i]; c < 0x21 || c == '"' || c == 0x7f {
			return "", false, false
		}
	}
	return t, weak, true
}

// StrongEqual reports whether a and b are equal under the strong comparison
// function of RFC 9110 §8.8.3.2: both are valid, neither is weak, and their
// opaque-tags are identical byte for byte.
func StrongEqual(a, b string) bool {
	oa, wa, oka := parse(trimOWS(a))
	ob, wb, okb := parse(trimOWS(b))
	return oka && okb && !wa && !wb && oa == ob
}

// WeakEqual reports whether a and b are equal under the weak comparison
// function of RFC 9110 §8.8.3.2: both are valid and their opaque-tags are
// identical, whether or not either is marked weak.
func WeakEqual(a, b string) bool {
	oa, _, oka := parse(trimOWS(a))
	ob, _, okb := parse(trimOWS(b))
	return oka && okb && oa == ob
}

// WeakMatch reports whether the If-None-Match field value list names etag,
// the entity-tag of the selected representation, using weak comparison
// (RFC 9110 §13.1.2). A "*" element matches any representation, that is any
// non-empty etag. An empty etag (no representation, or none with a tag)
// matches nothing.
//
// The list is read tolerantly: OWS and empty elements are skipped, a comma
// inside a quoted opaque-tag does not end an element, and an element that is
// not a valid entity-tag is ignored without ending the scan.
func WeakMatch(list, etag string) bool {
	return match(list, etag, false, trimOWS(etag) != "")
}

// StrongMatch reports whether the If-Match field value list names etag using
// strong comparison (RFC 9110 §13.1.1): only a strong element equal to a
// strong etag matches, and "*" matches any non-empty etag. The list is read
// as WeakMatch reads it.
func StrongMatch(list, etag string) bool {
	return match(list, etag, true, trimOWS(etag) != "")
}

// match scans one field value. exists says whether a representation exists,
// for "*". Elements are not validated one by one: etag is, and an element
// equal to a valid tag is valid.
func match(list, etag string, strong, exists bool) bool {
	cur, curWeak, curOK := parse(trimOWS(etag))
	for list != "" {
		var elem string
		elem, list = cut(list)
		if elem == "*" {
			if exists {
				return true
			}
			continue
		}
		weak := len(elem) >= 2 && elem[0] == 'W' && elem[1] == '/'
		if weak {
			elem = elem[2:]
		}
		if curOK && elem == cur && (!strong || !weak && !curWeak) {
			return true
		}
	}
	return false
}

// matchValues applies match to every field line of a header field, which
// together form one list (RFC 9110 §5.3).
func matchValues(lines []string, etag string, strong, exists bool) bool {
	for _, l := range lines {
		if match(l, etag, strong, exists) {
			return true
		}
	}
	return false
}

// cut returns the first element of the comma-separated list s with its OWS
// removed, and what follows the comma that ends it. A comma between double
// quotes does not end an element; an unbalanced quote makes the rest of s one
// (invalid) element. It runs in time linear in len(s) whatever the input.
func cut(s string) (elem, rest string) {
	comma := strings.IndexByte(s, ',')
	for i := 0; comma >= 0; {
		q := strings.IndexByte(s[i:comma], '"')
		if q < 0 {
			return trimOWS(s[:comma]), s[comma+1:]
		}
		// Skip the quoted part, which may hold commas.
		i += q + 1
		end := strings.IndexByte(s[i:], '"')
		if end < 0 {
			break
		}
		i += end + 1
		if i > comma {
			if comma = strings.IndexByte(s[i:], ','); comma >= 0 {
				comma += i
			}
		}
	}
	return trimOWS(s), ""
}

// trimOWS removes optional whitespace (SP and HTAB, RFC 9110 §5.6.3) from both
// ends of s.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// present reports whether a header field has at least one field line with a
// non-blank value. A field sent empty is treated as absent, as net/http does.
func present(lines []string) bool {
	for _, l := range lines {
		if trimOWS(l) != "" {
			return true
		}
	}
	return false
}
