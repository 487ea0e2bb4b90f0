package headers

import (
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// Directives is the tolerant parse of Cache-Control (RFC 9111 §5.2), request
// or response. It reports what the field says; deciding what wins when
// directives conflict (for instance public with private, or max-age with
// no-cache) is the caller's job: RFC 9111 §4.2.1 asks for the most
// restrictive one.
type Directives struct {
	// Directives that are present or not (private and no-cache may also be
	// qualified with field names, below).
	Public, Private, NoStore, NoCache, MustRevalidate, ProxyRevalidate,
	MustUnderstand, NoTransform, Immutable, OnlyIfCached bool

	// PrivateFields and NoCacheFields hold the field names of the qualified
	// forms, private="..." and no-cache="..." (§5.2.2.7, §5.2.2.4), in
	// canonical form. They are nil when the directive is unqualified; when
	// both forms appear, the unqualified one (the whole response) wins.
	PrivateFields, NoCacheFields []string

	// Directives with a delta-seconds argument.
	MaxAge, SMaxAge, StaleWhileRevalidate, StaleIfError, MaxStale, MinFresh Delta

	// MaxStaleAny is "max-stale" with no value (§5.2.1.2). It is false when
	// a bounded max-stale is present too, the stricter of the two.
	MaxStaleAny bool
}

// Delta is the delta-seconds argument of a directive (RFC 9111 §1.2.2).
type Delta struct {
	Seconds int64 // clamped to 2^31 (RFC 9111 §1.2.2)
	Valid   bool  // directive present (with an invalid value: see the parser's rules)
}

// Duration returns the delta as a time.Duration, 0 when d is not Valid.
func (d Delta) Duration() time.Duration {
	if !d.Valid {
		return 0
	}
	return time.Duration(d.Seconds) * time.Second
}

// ParseCacheControl parses every Cache-Control field line of a request or a
// response (for instance h.Values("Cache-Control")) as one list
// (RFC 9110 §5.3). It never fails and never panics; the rules for bad input
// are:
//
//   - Directive names are case-insensitive; unknown directives (extensions)
//     are ignored, their arguments included (§5.2.3). Empty list elements and
//     whitespace around elements and around "=" are tolerated.
//   - Arguments may be tokens or quoted strings, for every directive (§5.2);
//     backslash escapes are honoured and commas inside quotes do not split.
//     Text between an argument and the next comma makes the argument
//     invalid.
//   - delta-seconds is digits only; a value over 2^31 is clamped to
//     2147483648 (§1.2.2).
//   - max-age and s-maxage with a missing or invalid argument are reported
//     as Valid with Seconds 0, so the response is treated as stale (§4.2.1).
//   - stale-while-revalidate, stale-if-error, min-fresh and max-stale with an
//     invalid argument are ignored (Valid false); max-stale without an
//     argument sets MaxStaleAny.
//   - A delta directive that appears more than once takes its lowest value,
//     except min-fresh which takes its highest: the most restrictive choice
//     in each case (§4.2.1).
//   - A qualified private or no-cache whose field list is empty or
//     malformed counts as unqualified, which is the stricter reading.
//
// The common case, unqualified directives without backslash escapes, does not
// allocate.
func ParseCacheControl(values []string) Directives {
	var d Directives
	var st parseState
	for _, v := range values {
		d.parseLine(v, &st)
	}
	// An unqualified private / no-cache covers the whole response and so is
	// stricter than any qualified form of the same directive.
	if st.privateAll {
		d.PrivateFields = nil
	}
	if st.noCacheAll {
		d.NoCacheFields = nil
	}
	// A bounded max-stale is stricter than an unbounded one.
	if d.MaxStale.Valid {
		d.MaxStaleAny = false
	}
	return d
}

type parseState struct {
	privateAll, noCacheAll bool // an unqualified form was seen
}

// argument is a directive's argument as found in the field value.
type argument struct {
	raw       string // without the quotes; escapes still in place when escaped
	present   bool   // "=" was seen
	escaped   bool   // raw holds a quoted-pair (backslash escape)
	malformed bool   // unterminated quoted string, or junk before the next comma
}

// parseLine parses one field line by slicing; it allocates only for the
// field lists of qualified private / no-cache and for escaped arguments.
//
// Grammar (RFC 9111 §5.2, RFC 9110 §5.6):
//
//	Cache-Control   = #cache-directive
//	cache-directive = token [ "=" ( token / quoted-string ) ]
func (d *Directives) parseLine(s string, st *parseState) {
	i := 0
	for i < len(s) {
		// §5.6.1: empty list elements and OWS between elements are tolerated.
		if c := s[i]; c == ',' || c == ' ' || c == '\t' {
			i++
			continue
		}
		start := i
		for i < len(s) && isTchar(s[i]) {
			i++
		}
		name := s[start:i]

		var arg argument
		j := skipOWS(s, i)
		if j < len(s) && s[j] == '=' {
			// Whitespace around "=" is not in the grammar; tolerate it.
			arg.present = true
			j = skipOWS(s, j+1)
			if j < len(s) && s[j] == '"' {
				var ok bool
				arg.raw, j, arg.escaped, ok = scanQuoted(s, j)
				arg.malformed = !ok
			} else {
				k := j
				for j < len(s) && isTchar(s[j]) {
					j++
				}
				arg.raw = s[k:j]
			}
		}
		// Anything but OWS before the next comma is junk: skip it (quoted
		// strings whole, so that their commas do not split) and mark the
		// argument as malformed.
		for j < len(s) && s[j] != ',' {
			switch s[j] {
			case ' ', '\t':
				j++
			case '"':
				arg.malformed = true
				_, j, _, _ = scanQuoted(s, j)
			default:
				arg.malformed = true
				j++
			}
		}
		i = j
		if name != "" {
			d.record(name, arg, st)
		}
	}
}

// record records one directive. Names are matched case-insensitively
// (RFC 9111 §5.2: "Cache directives are case-insensitive").
func (d *Directives) record(name string, arg argument, st *parseState) {
	const maxName = len("stale-while-revalidate")
	if len(name) > maxName {
		return // §5.2.3: unknown extension, ignored
	}
	var buf [maxName]byte
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(name)]) {
	// Response directives (§5.2.2). An argument on a directive that takes
	// none is ignored; the directive still counts.
	case "public": // §5.2.2.9
		d.Public = true
	case "private": // §5.2.2.7
		d.Private = true
		d.PrivateFields = addFields(d.PrivateFields, arg, &st.privateAll)
	case "no-cache": // §5.2.2.4 (response), §5.2.1.4 (request)
		d.NoCache = true
		d.NoCacheFields = addFields(d.NoCacheFields, arg, &st.noCacheAll)
	case "no-store": // §5.2.2.5, §5.2.1.5
		d.NoStore = true
	case "must-revalidate": // §5.2.2.2
		d.MustRevalidate = true
	case "proxy-revalidate": // §5.2.2.8
		d.ProxyRevalidate = true
	case "must-understand": // §5.2.2.3
		d.MustUnderstand = true
	case "no-transform": // §5.2.2.6, §5.2.1.6
		d.NoTransform = true
	case "immutable": // RFC 8246 §2
		d.Immutable = true
	case "only-if-cached": // §5.2.1.7
		d.OnlyIfCached = true

	case "max-age": // §5.2.2.1 (response), §5.2.1.1 (request)
		freshness(&d.MaxAge, arg)
	case "s-maxage": // §5.2.2.10
		freshness(&d.SMaxAge, arg)
	case "stale-while-revalidate": // RFC 5861 §3
		if n, ok := parseDelta(arg); ok {
			lowest(&d.StaleWhileRevalidate, n)
		}
	case "stale-if-error": // RFC 5861 §4
		if n, ok := parseDelta(arg); ok {
			lowest(&d.StaleIfError, n)
		}
	case "max-stale": // §5.2.1.2
		if !arg.present {
			// "If no value is assigned to max-stale, then the client will
			// accept a stale response of any age."
			d.MaxStaleAny = true
		} else if n, ok := parseDelta(arg); ok {
			lowest(&d.MaxStale, n) // the least staleness accepted
		}
	case "min-fresh": // §5.2.1.3
		if n, ok := parseDelta(arg); ok {
			// Highest: the client asks for at least this much freshness,
			// so the larger demand is the more restrictive one (§4.2.1).
			if !d.MinFresh.Valid || n > d.MinFresh.Seconds {
				d.MinFresh = Delta{Seconds: n, Valid: true}
			}
		}
	}
	// §5.2.3: any other directive is an extension this cache does not
	// understand, and is ignored.
}

// freshness records a max-age or s-maxage argument.
//
// §4.2.1: "Caches are encouraged to consider responses that have invalid
// freshness information (e.g., a max-age directive with non-integer content)
// to be stale", so a missing or invalid argument (§5.2.2.1 and §5.2.2.10
// require delta-seconds) counts as 0.
//
// §4.2.1 also says that when a directive appears more than once "either the
// first occurrence should be used or the response should be considered
// stale". Strata takes the lowest value of all occurrences: never fresher
// than the first occurrence would make it, and as stale as the most
// conservative of them (0, stale, when any is invalid).
func freshness(dst *Delta, arg argument) {
	n, ok := parseDelta(arg)
	if !ok {
		n = 0
	}
	lowest(dst, n)
}

// lowest sets dst to n unless dst already holds a smaller value.
func lowest(dst *Delta, n int64) {
	if !dst.Valid || n < dst.Seconds {
		*dst = Delta{Seconds: n, Valid: true}
	}
}

// parseDelta parses delta-seconds (§1.2.2: 1*DIGIT) from a token or a quoted
// string (§5.2: recipients accept both forms). Values over 2^31, including
// any that would overflow, are clamped to 2^31 as §1.2.2 requires.
func parseDelta(arg argument) (int64, bool) {
	if !arg.present || arg.malformed || arg.raw == "" {
		return 0, false
	}
	s := arg.raw
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if arg.escaped && c == '\\' { // quoted-pair: the next byte stands for itself
			i++
			if i == len(s) {
				return 0, false
			}
			c = s[i]
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < maxDelta { // n < 2^31 here, so n*10+9 cannot overflow
			n = min(n*10+int64(c-'0'), maxDelta)
		}
	}
	return n, true
}

// addFields merges the field list of a qualified private / no-cache into
// list. A directive without a usable list is unqualified: it sets *all.
func addFields(list []string, arg argument, all *bool) []string {
	if !arg.present || arg.malformed {
		*all = true
		return list
	}
	s := arg.raw
	if arg.escaped {
		s = unescape(s)
	}
	named := false
	for rest := s; rest != ""; {
		var e string
		e, rest = nextElem(rest)
		if !validToken(e) {
			continue // not a field name: skipped
		}
		named = true
		if !containsFold(list, e) {
			list = append(list, textproto.CanonicalMIMEHeaderKey(e))
		}
	}
	if !named {
		// A list that names no field restricts nothing in particular;
		// reading it as unqualified is the stricter choice.
		*all = true
	}
	return list
}

// scanQuoted scans the quoted-string starting at s[i] == '"' (RFC 9110
// §5.6.4). It returns the content without the quotes (escapes left in place),
// the index after the closing quote, whether a backslash escape was seen and
// whether the string was terminated. An unterminated string runs to the end.
func scanQuoted(s string, i int) (content string, next int, escaped, ok bool) {
	start := i + 1
	for j := start; j < len(s); j++ {
		switch s[j] {
		case '\\': // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
			escaped = true
			j++
		case '"':
			return s[start:j], j + 1, escaped, true
		}
	}
	return s[min(start, len(s)):], len(s), escaped, false
}

// unescape removes the backslashes of quoted-pairs.
func unescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// String renders d as a Cache-Control field value in a fixed order, with
// field lists quoted and deltas as digits. Parsing the result gives back d
// for any d returned by [ParseCacheControl]. Invalid deltas are left out.
func (d Directives) String() string {
	var b []byte
	flag := func(on bool, name string) {
		if on {
			if len(b) > 0 {
				b = append(b, ", "...)
			}
			b = append(b, name...)
		}
	}
	fields := func(list []string) {
		if len(list) == 0 {
			return
		}
		b = append(b, `="`...)
		for i, f := range list {
			if i > 0 {
				b = append(b, ", "...)
			}
			for k := 0; k < len(f); k++ {
				if f[k] == '"' || f[k] == '\\' {
					b = append(b, '\\')
				}
				b = append(b, f[k])
			}
		}
		b = append(b, '"')
	}
	delta := func(v Delta, name string) {
		if v.Valid {
			flag(true, name)
			b = append(b, '=')
			b = strconv.AppendInt(b, v.Seconds, 10)
		}
	}
	flag(d.Public, "public")
	flag(d.Private, "private")
	if d.Private {
		fields(d.PrivateFields)
	}
	flag(d.NoCache, "no-cache")
	if d.NoCache {
		fields(d.NoCacheFields)
	}
	flag(d.NoStore, "no-store")
	delta(d.MaxAge, "max-age")
	delta(d.SMaxAge, "s-maxage")
	delta(d.StaleWhileRevalidate, "stale-while-revalidate")
	delta(d.StaleIfError, "stale-if-error")
	flag(d.MustRevalidate, "must-revalidate")
	flag(d.ProxyRevalidate, "proxy-revalidate")
	flag(d.MustUnderstand, "must-understand")
	flag(d.NoTransform, "no-transform")
	flag(d.Immutable, "immutable")
	flag(d.OnlyIfCached, "only-if-cached")
	flag(d.MaxStaleAny && !d.MaxStale.Valid, "max-stale")
	delta(d.MaxStale, "max-stale")
	delta(d.MinFresh, "min-fresh")
	return string(b)
}

// tchar per RFC 9110 §5.6.2.
var tchars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isTchar(c byte) bool { return tchars[c] }

// validToken reports whether s is a non-empty token (RFC 9110 §5.6.2), the
// syntax of a field name.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchars[s[i]] {
			return false
		}
	}
	return true
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// trimOWS removes optional whitespace (SP / HTAB, RFC 9110 §5.6.3) from both
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
