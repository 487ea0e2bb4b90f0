package core

import (
	"net/http"
	"strings"
)

// appendTokens appends the comma-separated elements of a list field value, trimmed, skipping
// empty elements (RFC 9110 §5.6.1).
func appendTokens(dst []string, v string) []string {
	for v != "" {
		var t string
		t, v, _ = strings.Cut(v, ",")
		if t = strings.TrimSpace(t); t != "" {
			dst = append(dst, t)
		}
	}
	return dst
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
