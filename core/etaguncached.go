package core

import (
	"net/http"

	"github.com/strata-cache/strata/headers"
)

// etagUncached reports whether an answer the cache does not store gets a strong ETag computed
// from its body, when the handler set none. writeBuffered asks only for a 200 to GET or HEAD
// whose whole body was buffered (streamed and over-MaxBodyBytes answers go out as written).
//
// On by default (Config.DisableETagUncached turns it off), except for:
//   - a Content-Encoding: a compressing middleware in front of the cache may change the
//     encoding, and a strong validator must differ between encodings (RFC 9110 §8.8.3.3);
//   - Cache-Control: no-store: the client keeps no copy to revalidate, so the hash is
//     wasted work.
//
// A client whose If-None-Match matches the ETag then gets a 304. The handler still runs,
// so this saves the transfer, not the work.
func (c *Cache) etagUncached(h http.Header) bool {
	if c.cfg.DisableETagUncached || len(h["Content-Encoding"]) > 0 {
		return false
	}
	return !headers.ParseCacheControl(h["Cache-Control"]).NoStore
}
