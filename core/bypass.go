package core

import (
	"bufio"
	"net"
	"net/http"
)

// Requests the cache never handles: a protocol upgrade (a WebSocket handshake, h2c, …) and
// CONNECT switch the connection to another protocol, so there is no response to store and
// nothing to share. They go straight to the handler on the client's connection: no lookup, no
// coalescing with other requests for the URL, no fleet lock, nothing stored, nothing
// invalidated. Their Cache-Status is "fwd=bypass" with detail "upgrade" or "connect".

// bypassReason reports why r bypasses the cache entirely, or "" when it does not.
func bypassReason(r *http.Request) Reason {
	if r.Method == http.MethodConnect {
		// RFC 8441 §4: an extended CONNECT (WebSocket over HTTP/2) names the protocol in
		// :protocol, which Go's HTTP/2 server hands over as a header field.
		if len(r.Header[":protocol"]) > 0 {
			return ReasonUpgrade
		}
		return ReasonConnect // RFC 9110 §9.3.6
	}
	if len(r.Header["Upgrade"]) == 0 {
		return "" // the common request: one map lookup
	}
	// RFC 9110 §7.8: an upgrade request sends Upgrade and the "upgrade" connection option.
	if hasToken(r.Header["Connection"], "upgrade") {
		return ReasonUpgrade
	}
	return ""
}

// serveBypass passes a request the cache never handles to next, on a writer that is the
// client's own in all but name (see passWriter).
func (c *Cache) serveBypass(w http.ResponseWriter, r *http.Request, next http.Handler, route func(*http.Request) string, reason Reason) {
	start := c.now()
	member := c.renderStatus(cacheStatus{fwd: "bypass", detail: string(reason)})
	// Set before the handler runs: a handler that hijacks the connection writes its status
	// line and fields itself, from this map (httputil.ReverseProxy does).
	w.Header().Add("Cache-Status", member)
	pw := &passWriter{ResponseWriter: w, member: member, strip: c.stripTags}
	next.ServeHTTP(pw, r)
	if c.cfg.Observer != nil {
		ev := Event{Result: ResultBypass, Reason: reason, Status: pw.status, Duration: c.now().Sub(start), Context: r.Context()}
		if route != nil {
			ev.Route = route(r)
		}
		c.cfg.Observer.Request(ev)
	}
}

// passWriter is the handler's writer for a bypassed request: the client's writer, plus
// Hijack (WebSocket libraries type-assert http.Hijacker), Flush and Unwrap. It only records
// the status, and keeps the cache's Cache-Status member last when the handler added an
// upstream cache's (RFC 9211 §2: members are ordered from the origin to the client).
type passWriter struct {
	http.ResponseWriter
	member   string
	strip    func(http.Header) // removes surrogate keys that are not forwarded
	status   int               // the final status written, 0 when none was (or the connection was hijacked)
	hijacked bool              // the handler took the connection: nothing more goes through here
}

func (p *passWriter) WriteHeader(code int) {
	if p.status == 0 && !p.hijacked && (code >= 200 || code == http.StatusSwitchingProtocols) {
		p.status = code
		p.memberLast()
		p.strip(p.Header())
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *passWriter) Write(b []byte) (int, error) {
	if p.status == 0 && !p.hijacked {
		p.WriteHeader(http.StatusOK)
	}
	return p.ResponseWriter.Write(b)
}

func (p *passWriter) FlushError() error {
	if p.status == 0 && !p.hijacked {
		p.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(p.ResponseWriter).Flush()
}

func (p *passWriter) Flush() { _ = p.FlushError() }

// Hijack hands the client's connection to the handler.
func (p *passWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(p.ResponseWriter).Hijack()
	if err == nil {
		p.hijacked = true
	}
	return conn, brw, err
}

// Unwrap lets http.ResponseController reach the client's writer (deadlines, full duplex).
func (p *passWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// memberLast moves the cache's Cache-Status member after those the handler added (and puts
// it back if the handler replaced the field).
func (p *passWriter) memberLast() {
	h := p.Header()
	v := h["Cache-Status"]
	if n := len(v); n > 0 && v[n-1] == p.member {
		return
	}
	out := make([]string, 0, len(v)+1)
	for _, m := range v {
		if m != p.member {
			out = append(out, m)
		}
	}
	h["Cache-Status"] = append(out, p.member)
}
