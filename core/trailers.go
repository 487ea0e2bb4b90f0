package core

import (
	"net/http"
	"strings"
)

// An answer with trailer fields (RFC 9110 §6.5) is never stored: an entry has no place for
// them, and a hit without them would not be the answer the origin gave. It is streamed to its
// client instead, so that the server sends the trailers after the body, as it would without
// the cache. Its Cache-Status detail is "trailers" (unless it was streamed for another
// reason first).
//
// A handler has trailers when it declared them in the Trailer field before the status, or
// set fields named with http.TrailerPrefix at any time.

// passTrailers runs once the handler returned (the recorder is detached): it switches an
// answer with trailers to streaming, and copies the trailer values the handler set into the
// client's header map, where net/http (HTTP/1.1 chunked, or HTTP/2) takes them from when the
// cache's handler returns.
func (rec *recorder) passTrailers() {
	declared := trailerNames(rec.snap["Trailer"])
	prefixed := false
	for k := range rec.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			prefixed = true
			break
		}
	}
	if len(declared) == 0 && !prefixed {
		return
	}
	if rec.buffered() {
		rec.reason = ReasonTrailers
		if err := rec.startStream(); err != nil {
			return // the client is gone
		}
	}
	if rec.w == nil || rec.hijack {
		return
	}
	h := rec.w.Header()
	for _, name := range declared {
		if v, ok := rec.header[name]; ok {
			h[name] = v
		}
	}
	if prefixed {
		for k, v := range rec.header {
			if strings.HasPrefix(k, http.TrailerPrefix) {
				h[k] = v
			}
		}
	}
}

// trailerNames returns the canonical field names a Trailer field declares.
func trailerNames(values []string) []string {
	var names []string
	for name := range elems(values) {
		names = append(names, http.CanonicalHeaderKey(name))
	}
	return names
}
