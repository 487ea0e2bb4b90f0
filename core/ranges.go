package core

import (
	"net/http"
	"strconv"
	"strings"
)

// rangeOf answers a GET's Range from a stored 200 of size bytes (RFC 9110 §14): 206 with the
// byte range [first, last] when Range asks for one satisfiable range and If-Range, if any,
// matches the stored validators (§13.1.5); 416 when the range cannot be satisfied; else 200,
// the whole representation: no Range or another unit, an invalid Range, several ranges (the
// whole is allowed, §14.2, and saves a multipart body), a failed If-Range, or an empty body.
func rangeOf(r *http.Request, etag string, lastMod int64, size int) (status, first, last int) {
	v := r.Header["Range"]
	if r.Method != http.MethodGet || len(v) != 1 || size == 0 {
		return http.StatusOK, 0, 0
	}
	if ir := r.Header["If-Range"]; len(ir) > 0 && !ifRange(ir[0], etag, lastMod) {
		return http.StatusOK, 0, 0
	}
	spec := strings.TrimSpace(v[0])
	if len(spec) < 6 || !strings.EqualFold(spec[:6], "bytes=") {
		return http.StatusOK, 0, 0
	}
	spec = strings.TrimSpace(spec[6:])
	if strings.Contains(spec, ",") {
		return http.StatusOK, 0, 0
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return http.StatusOK, 0, 0
	}
	if a == "" { // suffix-range: the last b bytes
		n, ok := digits(b)
		switch {
		case !ok:
			return http.StatusOK, 0, 0
		case n == 0:
			return http.StatusRequestedRangeNotSatisfiable, 0, 0
		}
		return http.StatusPartialContent, size - min(n, size), size - 1
	}
	first, ok = digits(a)
	if !ok {
		return http.StatusOK, 0, 0
	}
	last = size - 1
	if b != "" {
		n, ok := digits(b)
		if !ok || n < first {
			return http.StatusOK, 0, 0 // invalid: ignored (§14.1.1)
		}
		last = min(n, size-1)
	}
	if first >= size {
		return http.StatusRequestedRangeNotSatisfiable, 0, 0
	}
	return http.StatusPartialContent, first, last
}

// ifRange evaluates If-Range (RFC 9110 §13.1.5) against the stored validators: an entity tag
// matches only a strong, identical ETag; a date matches only the stored Last-Modified.
func ifRange(v, etag string, lastMod int64) bool {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/") {
		return etag != "" && !strings.HasPrefix(v, "W/") && !strings.HasPrefix(etag, "W/") && v == etag
	}
	t, err := http.ParseTime(v)
	return err == nil && lastMod != 0 && t.Unix() == lastMod
}

// digits parses 1*DIGIT, saturating far beyond any body size.
func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		if n < 1<<40 {
			n = n*10 + int(s[i]-'0')
		}
	}
	return n, true
}

// contentRange renders Content-Range for a 206 ("bytes first-last/size") or a 416
// ("bytes */size").
func contentRange(status, first, last, size int) string {
	b := make([]byte, 0, 40)
	b = append(b, "bytes "...)
	if status == http.StatusPartialContent {
		b = strconv.AppendInt(b, int64(first), 10)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(last), 10)
	} else {
		b = append(b, '*')
	}
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(size), 10)
	return string(b)
}
