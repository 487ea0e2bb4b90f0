package core

import (
	"net/http"
	"time"
)

// modifiedAt is the modification time a client's conditional request is evaluated against
// for a stored response: its Last-Modified; for an If-Modified-Since alone (RFC 9111 §4.3.2),
// when it has none, its Date, or else the time the cache received it. Zero: none, so
// If-Unmodified-Since, which needs a Last-Modified (RFC 9110 §13.1.4), is ignored.
func modifiedAt(h http.Header, e *entry, fields []field) time.Time {
	if e.lastMod != 0 {
		return time.Unix(e.lastMod, 0)
	}
	if len(h["If-Modified-Since"]) == 0 || len(h["If-Unmodified-Since"]) > 0 {
		return time.Time{}
	}
	for _, f := range fields {
		if f.name == "Date" {
			if d, ok := parseHTTPDate(f.value); ok {
				return d
			}
			break
		}
	}
	return time.Unix(0, e.storedAt)
}
