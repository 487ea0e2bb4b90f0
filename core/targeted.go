package core

import (
	"net/http"

	"github.com/strata-cache/strata/headers"
)

// decisionHeader returns the header that the storage and freshness rules read for a
// response: h itself, or, when h carries one of Config.TargetedFields with a valid,
// non-empty value (the first in the list's order), a shallow copy of h whose Cache-Control
// is that field's directives and which has no Expires (RFC 9213 §2.1). h, which the client
// gets and the entry stores, is left as it is.
func (c *Cache) decisionHeader(h http.Header) http.Header {
	for _, name := range c.cfg.TargetedFields {
		v := h[name]
		if len(v) == 0 {
			continue
		}
		d, ok := headers.ParseTargeted(v)
		if !ok {
			continue // invalid or empty: as if absent (RFC 9213 §2.1)
		}
		dh := make(http.Header, len(h))
		for k, v := range h {
			dh[k] = v
		}
		dh["Cache-Control"] = []string{d.String()}
		delete(dh, "Expires")
		return dh
	}
	return h
}
