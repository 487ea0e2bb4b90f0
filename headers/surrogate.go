package headers

import "strings"

// SurrogateKey renders tags as a Surrogate-Key field value: the tags
// separated by single spaces, without empty tags or duplicates. It returns ""
// when no tag remains. Tags are not escaped: one containing a space becomes
// several keys.
func SurrogateKey(tags []string) string {
	n, size := 0, 0
	for i, t := range tags {
		if t != "" && !contains(tags[:i], t) {
			n++
			size += len(t)
		}
	}
	if n == 0 {
		return ""
	}
	if n == 1 && len(tags) == 1 {
		return tags[0]
	}
	var b strings.Builder
	b.Grow(size + n - 1)
	for i, t := range tags {
		if t == "" || contains(tags[:i], t) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t)
	}
	return b.String()
}

// ParseSurrogateKey splits Surrogate-Key field values (space-separated) into
// tags, in order and without duplicates. Commas also separate, so it parses
// the comma-separated Cache-Tag field too. It returns nil when there is no
// tag.
func ParseSurrogateKey(values []string) []string {
	var out []string
	for _, v := range values {
		for len(v) > 0 {
			i := strings.IndexAny(v, " \t,")
			var t string
			if i < 0 {
				t, v = v, ""
			} else {
				t, v = v[:i], v[i+1:]
			}
			if t != "" && !contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}
