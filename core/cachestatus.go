package core

// statusLines is the Cache-Status field of an answer made from a stored entry: the members
// the stored answer carried (an upstream cache's, such as a proxied service's CDN), then this
// cache's own. RFC 9211 §2 orders the members from the origin side to the client side, each
// cache adding its member to the end and preserving the existing ones, so on a hit the
// upstream's members describe how it answered the request that filled the entry.
//
// own is this cache's member, as a one-element slice; with no upstream members it is the
// field itself, so the common hit allocates nothing here.
func statusLines(upstream []field, own []string) []string {
	if len(upstream) == 0 {
		return own
	}
	lines := make([]string, 0, len(upstream)+1)
	for _, f := range upstream {
		lines = append(lines, f.value)
	}
	return append(lines, own...)
}
