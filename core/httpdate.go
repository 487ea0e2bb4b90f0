package core

import (
	"strings"
	"time"
)

// parseHTTPDate parses an HTTP-date strictly (RFC 9110 §5.6.7): the preferred IMF-fixdate
// ("Sun, 06 Nov 1994 08:49:37 GMT") and the two obsolete forms a recipient must accept,
// rfc850-date ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime-date ("Sun Nov  6 08:49:37
// 1994"), day and month names in any case. Anything else (extra spaces, one-digit hours,
// "gmt", other zones) is not a date:
// for Expires that means already expired (RFC 9111 §5.3). time.Parse alone is more lenient
// than the grammar, so the shape is checked first, character by character.
func parseHTTPDate(s string) (time.Time, bool) {
	var layout string
	switch {
	case len(s) == 29 && shape(s, "Aaa, 00 Aaa 0000 00:00:00 GMT"):
		layout = time.RFC1123 // "Mon, 02 Jan 2006 15:04:05 MST", with MST = GMT checked
	case len(s) == 24 && (shape(s, "Aaa Aaa 00 00:00:00 0000") || shape(s, "Aaa Aaa  0 00:00:00 0000")):
		layout = time.ANSIC
	default:
		// rfc850-date: a full day name, then ", 06-Nov-94 08:49:37 GMT".
		const tail = ", 00-Aaa-00 00:00:00 GMT"
		if len(s) < len(tail)+6 || !shape(s[len(s)-len(tail):], tail) || !fullDay(s[:len(s)-len(tail)]) {
			return time.Time{}, false
		}
		layout = time.RFC850
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// shape matches s against a pattern: '0' a digit, 'A' and 'a' a letter (day and month names
// are matched without regard to case, as most recipients do), ' ' a space; any other byte
// stands for itself.
func shape(s, pattern string) bool {
	for i := 0; i < len(pattern); i++ {
		c, p := s[i], pattern[i]
		switch p {
		case '0':
			if c < '0' || c > '9' {
				return false
			}
		case 'A', 'a':
			if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
				return false
			}
		default:
			if c != p {
				return false
			}
		}
	}
	return true
}

func fullDay(s string) bool {
	for _, d := range [...]string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"} {
		if strings.EqualFold(s, d) {
			return true
		}
	}
	return false
}

// parseAge reads an Age field (RFC 9111 §5.1): the first member of a list-valued field, as
// delta-seconds; a value too large to represent counts as 2^31 (§1.2.2). ok is false for a
// field that is not a number.
func parseAge(lines []string) (time.Duration, bool) {
	if len(lines) == 0 {
		return 0, false
	}
	v := lines[0]
	for i := 0; i < len(v); i++ {
		if v[i] == ',' {
			v = v[:i]
			break
		}
	}
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	if v == "" {
		return 0, false
	}
	const limit = 1 << 31
	n := int64(0)
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < limit {
			n = n*10 + int64(c-'0')
		}
	}
	return time.Duration(min(n, limit)) * time.Second, true
}
