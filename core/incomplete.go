package core

import (
	"net/http"
	"strconv"
)

// declaredLength returns the Content-Length a handler declared for a response that has
// content, or -1: none, one that is not a single non-negative number (lines that disagree
// included), or a status whose answer has no content (RFC 9110 §8.6: a 204 or 304 may
// declare the length of a representation it does not carry).
func declaredLength(status int, h http.Header) int64 {
	if status == http.StatusNoContent || status == http.StatusNotModified || status < 200 {
		return -1
	}
	vs := h["Content-Length"]
	if len(vs) == 0 {
		return -1
	}
	n, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	for _, v := range vs[1:] {
		if v != vs[0] {
			return -1
		}
	}
	return n
}

// incomplete reports whether the buffered body is shorter than the Content-Length the handler
// declared: the handler returned before it wrote all it announced.
func (rec *recorder) incomplete() bool {
	n := declaredLength(rec.status, rec.snap)
	return n >= 0 && int64(len(rec.buf)) < n
}

// writeIncomplete sends an incomplete response to its client as the handler wrote it, with the
// length the handler declared: net/http then ends the connection (HTTP/1.1) or resets the
// stream (HTTP/2) after the body, and the client knows it was cut short, as it would without
// the cache. Nothing is computed from the short body (no ETag, no 304).
func (c *Cache) writeIncomplete(x *exchange, rec *recorder) {
	if x.background {
		return
	}
	h := x.w.Header()
	for k, v := range rec.snap {
		h[k] = v
	}
	c.stripTags(h)
	h.Add("Cache-Status", c.renderStatus(cacheStatus{fwd: x.fwd, fwdStatus: rec.status, detail: x.detail(string(ReasonIncomplete))}))
	x.w.WriteHeader(rec.status)
	if x.r.Method != http.MethodHead && len(rec.buf) > 0 {
		_, _ = x.w.Write(rec.buf)
	}
}
