package headers

import (
	"net/http"
	"net/textproto"
	"strings"
)

// MergeVary adds fields to the Vary header of h without duplicates. Names
// are compared case-insensitively (field names are case-insensitive,
// RFC 9110 §5.1), added fields are canonicalised, and fields may be given as
// comma-separated lists. Existing Vary field lines are kept as written
// (deduplicated) and, when something is added, joined into one line.
//
// "*" absorbs everything (RFC 9110 §12.5.5): if h already varies on "*"
// nothing is added, and adding "*" sets Vary to "*". When nothing needs to
// be added h is not modified and MergeVary does not allocate.
func MergeVary(h http.Header, fields ...string) {
	if h == nil {
		return
	}
	existing := h["Vary"]
	if varyHas(existing, "*") {
		return
	}
	var add []string
	for _, f := range fields {
		for rest := f; rest != ""; {
			var e string
			e, rest = nextElem(rest)
			if e == "" || varyHas(existing, e) || containsFold(add, e) {
				continue
			}
			if e == "*" {
				h["Vary"] = []string{"*"}
				return
			}
			if !validToken(e) {
				continue
			}
			add = append(add, textproto.CanonicalMIMEHeaderKey(e))
		}
	}
	if len(add) == 0 {
		return
	}
	var b strings.Builder
	var kept []string
	for _, line := range existing {
		for rest := line; rest != ""; {
			var e string
			e, rest = nextElem(rest)
			if e == "" || containsFold(kept, e) {
				continue
			}
			kept = append(kept, e)
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(e)
		}
	}
	for _, e := range add {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e)
	}
	h["Vary"] = []string{b.String()}
}

// addVaryField appends the canonical form of field e to list unless it is
// already there; "*" replaces the whole list (RFC 9110 §12.5.5).
func addVaryField(list []string, e string) []string {
	switch {
	case e == "":
		return list
	case len(list) == 1 && list[0] == "*":
		return list
	case e == "*":
		return append(list[:0], "*")
	case !validToken(e) || containsFold(list, e):
		return list
	}
	return append(list, textproto.CanonicalMIMEHeaderKey(e))
}

// varyHas reports whether any of the comma-separated lines contains field
// (case-insensitively).
func varyHas(lines []string, field string) bool {
	for _, line := range lines {
		for rest := line; rest != ""; {
			var e string
			e, rest = nextElem(rest)
			if strings.EqualFold(e, field) {
				return true
			}
		}
	}
	return false
}

// nextElem returns the first element of a comma-separated list with the
// surrounding whitespace removed (RFC 9110 §5.6.1: empty elements and OWS
// are tolerated), and the rest of the list after the comma.
func nextElem(s string) (elem, rest string) {
	if i := strings.IndexByte(s, ','); i >= 0 {
		elem, rest = s[:i], s[i+1:]
	} else {
		elem = s
	}
	return trimOWS(elem), rest
}

func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}
