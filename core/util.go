package core

import (
	"iter"
	"net/http"
	"strings"
)

// elems yields the elements of a comma-separated list field, over all its lines: trimmed of
// whitespace, empty ones skipped, a comma inside a quoted string not a separator (RFC 9110
// §5.6.1, §5.6.4). It is core's one list tokeniser.
func elems(lines []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, line := range lines {
			for line != "" {
				el := line
				if i := indexOutsideQuotes(line, ','); i >= 0 {
					el, line = line[:i], line[i+1:]
				} else {
					line = ""
				}
				if el = strings.TrimSpace(el); el != "" && !yield(el) {
					return
				}
			}
		}
	}
}

// indexOutsideQuotes returns the index of the first sep in s that is not inside a quoted
// string, or -1.
func indexOutsideQuotes(s string, sep byte) int {
	quoted, escaped := false, false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quoted && escaped:
			escaped = false
		case quoted && ch == '\\':
			escaped = true
		case ch == '"':
			quoted = !quoted
		case !quoted && ch == sep:
			return i
		}
	}
	return -1
}

// hasToken reports whether a list field (all its lines) holds token, compared
// case-insensitively.
func hasToken(lines []string, token string) bool {
	for t := range elems(lines) {
		if strings.EqualFold(t, token) {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// isSafe reports the methods that never invalidate (RFC 9110 §9.2.1).
func isSafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// smallInts holds the decimal strings of 0..1023, so Age and ttl need no allocation.
var smallInts = func() (s [1024]string) {
	for i := range s {
		s[i] = formatInt(i)
	}
	return
}()

func itoa(i int) string {
	if i >= 0 && i < len(smallInts) {
		return smallInts[i]
	}
	return formatInt(i)
}

func formatInt(i int) string {
	var b [20]byte
	n := len(b)
	neg := i < 0
	u := uint64(i)
	if neg {
		u = uint64(-i)
	}
	for {
		n--
		b[n] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}
