package headers

import "strings"

// ParseTargeted parses a targeted cache-control field such as CDN-Cache-Control
// (RFC 9213), every field line of it as one list, and reports whether it is valid and
// non-empty: only then does it replace Cache-Control and Expires for a cache it targets
// (RFC 9213 §2.1).
//
// Unlike Cache-Control, a targeted field is a Structured Field Dictionary (RFC 8941
// §3.2), parsed strictly (§4.2): a value that does not parse (a key with upper-case
// letters, whitespace around "=", a stray character) makes the whole field invalid. A
// known directive whose value has the wrong type (RFC 9213 §2.2: integers for max-age,
// s-maxage, stale-while-revalidate and stale-if-error; Booleans for the others, or a
// string of field names for private and no-cache) also makes it invalid, rather than being
// coerced. Parameters are ignored, and so are unknown directives (extensions). A Boolean
// false (?0) leaves its directive out.
func ParseTargeted(values []string) (Directives, bool) {
	var d Directives
	s := strings.Trim(strings.Join(values, ","), " ")
	if s == "" {
		return d, false
	}
	var st parseState
	p := sfParser{s: s}
	for {
		key, ok := p.key()
		if !ok {
			return Directives{}, false
		}
		var v sfItem
		if p.peek() == '=' {
			p.i++
			if v, ok = p.member(); !ok {
				return Directives{}, false
			}
		} else {
			v = sfItem{kind: sfBool, b: true}
			if !p.params() {
				return Directives{}, false
			}
		}
		if !d.target(key, v, &st) {
			return Directives{}, false
		}
		p.ows()
		if p.i == len(p.s) {
			break
		}
		if p.s[p.i] != ',' {
			return Directives{}, false
		}
		p.i++
		p.ows()
		if p.i == len(p.s) {
			return Directives{}, false // a trailing comma
		}
	}
	if st.privateAll {
		d.PrivateFields = nil
	}
	if st.noCacheAll {
		d.NoCacheFields = nil
	}
	return d, true
}

// target records one dictionary member as a directive; false: a known directive with a
// value of the wrong type. A repeated key counts once per occurrence, the stricter reading
// (the dictionary's last-wins rule would let a later member loosen an earlier one).
func (d *Directives) target(key string, v sfItem, st *parseState) bool {
	switch key {
	case "max-age", "s-maxage", "stale-while-revalidate", "stale-if-error":
		if v.kind != sfInteger || v.n < 0 {
			return false
		}
		n := min(v.n, maxDelta)
		switch key {
		case "max-age":
			lowest(&d.MaxAge, n)
		case "s-maxage":
			lowest(&d.SMaxAge, n)
		case "stale-while-revalidate":
			lowest(&d.StaleWhileRevalidate, n)
		default:
			lowest(&d.StaleIfError, n)
		}
		return true
	case "private", "no-cache":
		arg := argument{}
		switch v.kind {
		case sfBool:
			if !v.b {
				return true
			}
		case sfString:
			arg = argument{raw: v.str, present: true}
		default:
			return false
		}
		if key == "private" {
			d.Private = true
			d.PrivateFields = addFields(d.PrivateFields, arg, &st.privateAll)
		} else {
			d.NoCache = true
			d.NoCacheFields = addFields(d.NoCacheFields, arg, &st.noCacheAll)
		}
		return true
	case "public", "no-store", "must-revalidate", "proxy-revalidate", "must-understand",
		"no-transform", "immutable":
		if v.kind != sfBool {
			return false
		}
		if v.b {
			d.record(key, argument{}, st)
		}
		return true
	}
	return true // an extension: ignored
}

// The bare item types of RFC 8941 §3.3 that a targeted field's directives use; any other
// value (decimal, token, byte sequence, inner list) parses as sfOther.
const (
	sfBool = iota
	sfInteger
	sfString
	sfOther
)

type sfItem struct {
	kind int
	b    bool
	n    int64
	str  string
}

// sfParser parses the parts of a Structured Field Dictionary (RFC 8941 §4.2.2).
type sfParser struct {
	s string
	i int
}

func (p *sfParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *sfParser) ows() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// key parses a key (§4.2.3.3): lcalpha or "*", then lcalpha, DIGIT, "_", "-", "." or "*".
func (p *sfParser) key() (string, bool) {
	start := p.i
	if c := p.peek(); (c < 'a' || c > 'z') && c != '*' {
		return "", false
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if !keyChar(c) {
			break
		}
		p.i++
	}
	return p.s[start:p.i], true
}

// member parses an item or an inner list, with its parameters (§4.2.1.1).
func (p *sfParser) member() (sfItem, bool) {
	if p.peek() == '(' {
		p.i++
		for {
			for p.peek() == ' ' {
				p.i++
			}
			if p.peek() == ')' {
				p.i++
				return sfItem{kind: sfOther}, p.params()
			}
			if _, ok := p.bare(); !ok || !p.params() {
				return sfItem{}, false
			}
			if c := p.peek(); c != ' ' && c != ')' {
				return sfItem{}, false
			}
		}
	}
	v, ok := p.bare()
	return v, ok && p.params()
}

// params parses parameters (§4.2.3.2), which no directive uses: they are skipped.
func (p *sfParser) params() bool {
	for p.peek() == ';' {
		p.i++
		for p.peek() == ' ' {
			p.i++
		}
		if _, ok := p.key(); !ok {
			return false
		}
		if p.peek() == '=' {
			p.i++
			if _, ok := p.bare(); !ok {
				return false
			}
		}
	}
	return true
}

// bare parses a bare item (§4.2.3.1).
func (p *sfParser) bare() (sfItem, bool) {
	c := p.peek()
	switch {
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == '"':
		return p.str()
	case c == '?':
		if p.i+1 < len(p.s) && (p.s[p.i+1] == '0' || p.s[p.i+1] == '1') {
			p.i += 2
			return sfItem{kind: sfBool, b: p.s[p.i-1] == '1'}, true
		}
		return sfItem{}, false
	case c == ':':
		end := strings.IndexByte(p.s[p.i+1:], ':')
		if end < 0 {
			return sfItem{}, false
		}
		for _, b := range []byte(p.s[p.i+1 : p.i+1+end]) {
			if !base64Char(b) {
				return sfItem{}, false
			}
		}
		p.i += end + 2
		return sfItem{kind: sfOther}, true
	case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '*':
		p.i++
		for p.i < len(p.s) && (isTchar(p.s[p.i]) || p.s[p.i] == ':' || p.s[p.i] == '/') {
			p.i++
		}
		return sfItem{kind: sfOther}, true
	}
	return sfItem{}, false
}

// number parses an integer (at most 15 digits) or a decimal (§4.2.4: at most 12 digits,
// a dot, 1 to 3 digits); a decimal parses as sfOther.
func (p *sfParser) number() (sfItem, bool) {
	neg := p.peek() == '-'
	if neg {
		p.i++
	}
	var n int64
	whole, frac, dot := 0, 0, false
	for ; p.i < len(p.s); p.i++ {
		c := p.s[p.i]
		switch {
		case c >= '0' && c <= '9' && !dot:
			if whole++; whole > 15 {
				return sfItem{}, false
			}
			n = n*10 + int64(c-'0')
		case c >= '0' && c <= '9':
			if frac++; frac > 3 {
				return sfItem{}, false
			}
		case c == '.' && !dot:
			if whole == 0 || whole > 12 {
				return sfItem{}, false
			}
			dot = true
		default:
			goto done
		}
	}
done:
	switch {
	case whole == 0 || (dot && frac == 0):
		return sfItem{}, false
	case dot:
		return sfItem{kind: sfOther}, true
	case neg:
		n = -n
	}
	return sfItem{kind: sfInteger, n: n}, true
}

// str parses a string (§4.2.5): printable ASCII, with \" and \\ the only escapes.
func (p *sfParser) str() (sfItem, bool) {
	p.i++ // the opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\':
			if p.i == len(p.s) || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
				return sfItem{}, false
			}
			b.WriteByte(p.s[p.i])
			p.i++
		case c == '"':
			return sfItem{kind: sfString, str: b.String()}, true
		case c < 0x20 || c > 0x7e:
			return sfItem{}, false
		default:
			b.WriteByte(c)
		}
	}
	return sfItem{}, false
}

// keyChar reports a character of a Structured Field key after its first (RFC 8941 §3.1.2).
func keyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*'
}

// base64Char reports a character of a Structured Field byte sequence (RFC 8941 §3.3.5).
func base64Char(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '='
}
