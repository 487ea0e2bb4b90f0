package core

import (
	"net/http"
	"strings"
)

// UnkeyedFields lists the request fields that commonly change a response although no Vary
// names them: forwarded host, scheme, port and path prefix, and method or URL overrides. A
// handler (or a framework) that reflects one of them would have an attacker's value stored
// under the clean key and served to everyone (cache poisoning). So a GET or HEAD carrying any
// of them passes the cache by, neither looked up nor stored, with
// "Cache-Status: strata; fwd=bypass; detail=unkeyed-<field>", unless the application lists
// the field in Config.TrustHeaders, which also puts its value in the key.
//
// This is the one list; the README's security model section names it.
var UnkeyedFields = []string{
	"Forwarded",              // RFC 7239
	"X-Forwarded-Host",       // de facto Host of the client's request
	"X-Forwarded-Proto",      // de facto scheme
	"X-Forwarded-Scheme",     // ditto
	"X-Forwarded-Port",       // de facto port
	"X-Forwarded-Prefix",     // de facto path prefix
	"X-Forwarded-Server",     // ditto, host
	"X-Host",                 // host override
	"X-Original-Host",        // ditto
	"X-Original-URL",         // URL override (IIS, Symfony, Laravel)
	"X-Rewrite-URL",          // ditto
	"X-HTTP-Method-Override", // method override (Rails, Express, Gorilla, …)
	"X-HTTP-Method",          // ditto
	"X-Method-Override",      // ditto
}

// unkeyedDetail maps each field's canonical name (as net/http stores it: "X-Http-Method")
// to "unkeyed-<lower-case name>", built once.
var unkeyedDetail = func() map[string]string {
	m := make(map[string]string, len(UnkeyedFields))
	for _, f := range UnkeyedFields {
		m[http.CanonicalHeaderKey(f)] = "unkeyed-" + strings.ToLower(f)
	}
	return m
}()

// Bypass details (Cache-Status detail and Event.Reason) of classify.
const (
	detailRequestBody = "request-body"
	detailInvalidHost = "invalid-host"
	detailInvalidProt = "invalid-proto"
)

// classify is step 0 of the request path, for a GET or HEAD: it returns "" when the cache may
// handle the request, or the reason it must pass it by untouched: a protocol upgrade, a body,
// an unkeyed field. It walks the request's own
// fields once (typically a handful), not the list, so it stays cheap on the hit path.
func (c *Cache) classify(r *http.Request) string {
	// A GET or HEAD with content: the handler may read it, and nothing keys it.
	if r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody) {
		return detailRequestBody
	}
	if len(r.Header) == 0 {
		return ""
	}
	for name := range r.Header {
		if name == "Upgrade" {
			if reason := bypassReason(r); reason != "" {
				return string(reason) // a protocol upgrade (bypass.go)
			}
			continue
		}
		if name == "" || (name[0] != 'X' && name[0] != 'F') { // every unkeyed field starts so
			continue
		}
		d, ok := unkeyedDetail[name]
		if !ok {
			continue
		}
		switch {
		case name == "X-Forwarded-Host" && c.cfg.TrustForwardedHost:
			if !validHost(r.Header[name]) {
				return detailInvalidHost
			}
		case name == "X-Forwarded-Proto" && c.trustProto:
			if v := r.Header[name]; len(v) != 1 || (!strings.EqualFold(v[0], "http") && !strings.EqualFold(v[0], "https")) {
				return detailInvalidProt
			}
		case c.isTrusted(name): // c.trusted holds canonical names
		default:
			if reason := bypassReason(r); reason != "" {
				return string(reason) // an upgrade says so first, whatever the map order
			}
			return d
		}
	}
	return ""
}

func (c *Cache) isTrusted(name string) bool {
	for _, t := range c.trusted {
		if t == name {
			return true
		}
	}
	return false
}

// validHost reports whether a forwarded host is one uri-host [":" port] (RFC 9110 §7.2):
// reg-name or IP-literal characters only, no path, no spaces, no list.
func validHost(vs []string) bool {
	if len(vs) != 1 {
		return false
	}
	h := vs[0]
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		ch := h[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9':
		case ch == '-' || ch == '.' || ch == ':' || ch == '[' || ch == ']' || ch == '_':
		default:
			return false
		}
	}
	return true
}
