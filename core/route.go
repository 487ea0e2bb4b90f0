package core

import (
	"net/http"
	"strings"
)

// muxRoute is the route label when the adapter gives none (HandlerOptions.Route is nil):
// the pattern of the net/http ServeMux route (Go 1.22+) that handled the request, without
// its method, so that plain net/http is labelled as chi, gin and echo are ("/products/{id}").
//
// ServeMux sets Pattern on the very request it is given, so handled must be the request the
// cache passed to the handler — for a fill, the fill's own request, not the client's — read
// after the handler returned. A mux behind a middleware that passes on a copy of the request
// sets it on the copy; there the route's PolicyMiddleware, which records the Pattern it sees
// in the request state st, still names it. Otherwise the label is empty.
func muxRoute(handled *http.Request, st *reqState) string {
	p := ""
	if handled != nil {
		p = handled.Pattern
	}
	if p == "" && st != nil {
		p = st.pattern
	}
	if i := strings.IndexAny(p, " \t"); i >= 0 && !strings.Contains(p[:i], "/") {
		p = strings.TrimLeft(p[i:], " \t") // "GET /x" → "/x"; "host/x" stays
	}
	return p
}
