package core

import (
	"context"
	"net/http"
	"slices"

	"github.com/strata-cache/strata/headers"
)

// reqState is the per-request state shared between the cache middleware and route-level
// Policy middleware that runs after it (inside the handler). One pointer is put in the request
// context when the request enters the cache, so a per-route policy set deeper in the chain is
// visible to the cache when the handler returns.
type reqState struct {
	policy    headers.Policy
	hasPolicy bool
	pattern   string // the ServeMux pattern PolicyMiddleware saw (see muxRoute)
}

type ctxKey struct{}

func stateFrom(ctx context.Context) *reqState {
	s, _ := ctx.Value(ctxKey{}).(*reqState)
	return s
}

// WithPolicy attaches a route policy to the request. Adapters' Policy middleware call it.
//
// When the cache middleware already runs for this request (the usual order: cache at the
// router, Policy on the route), the policy is recorded in the cache's request state and the
// request is returned unchanged; otherwise a new request carrying the policy is returned, for
// a cache middleware further down the chain.
func WithPolicy(r *http.Request, p headers.Policy) *http.Request {
	if s := stateFrom(r.Context()); s != nil {
		s.policy, s.hasPolicy = p, true
		return r
	}
	s := &reqState{policy: p, hasPolicy: true}
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, s))
}

// PolicyFrom returns the route policy attached to the request, if any.
func PolicyFrom(r *http.Request) (headers.Policy, bool) {
	if s := stateFrom(r.Context()); s != nil {
		return s.policy, s.hasPolicy
	}
	return headers.Policy{}, false
}

// PolicyMiddleware attaches p to every request of a route. Under the cache middleware the
// policy reaches the cache, which applies it to the response after the handler ran (the
// handler's own Cache-Control, CDN-Cache-Control and Vary win) and uses its cache-only
// settings (tags, negative TTL). Without the cache middleware, it still sets the headers the
// handler did not set, for the CDN and the browser. Adapters' Policy functions call it.
func PolicyMiddleware(p headers.Policy) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r = StripIgnoredQuery(r, p)
			if s := stateFrom(r.Context()); s != nil {
				s.policy, s.hasPolicy, s.pattern = p, true, r.Pattern
				next.ServeHTTP(w, r)
				return
			}
			pw := &policyWriter{ResponseWriter: w, p: p}
			next.ServeHTTP(pw, WithPolicy(r, p))
		})
	}
}

// StripIgnoredQuery returns r without the query parameters p leaves out of the key
// (Policy.IgnoreQuery), or r itself when it has none. A parameter the key does not hold must
// not reach the handler either: an answer that reflected it would be stored under the clean
// key and served to everyone. Adapters' Policy middleware call it before the handler runs.
func StripIgnoredQuery(r *http.Request, p headers.Policy) *http.Request {
	ign := p.IgnoredQuery()
	if len(ign) == 0 {
		return r
	}
	return stripQuery(r, func(name string) bool { return slices.Contains(ign, name) })
}

// policyWriter applies a policy to the header when the status is written.
type policyWriter struct {
	http.ResponseWriter
	p    headers.Policy
	done bool
}

func (pw *policyWriter) apply() {
	if !pw.done {
		pw.done = true
		pw.p.Apply(pw.Header())
	}
}

func (pw *policyWriter) WriteHeader(code int) {
	if code >= 200 {
		pw.apply()
	}
	pw.ResponseWriter.WriteHeader(code)
}

func (pw *policyWriter) Write(b []byte) (int, error) {
	pw.apply()
	return pw.ResponseWriter.Write(b)
}

func (pw *policyWriter) FlushError() error {
	pw.apply()
	return http.NewResponseController(pw.ResponseWriter).Flush()
}

func (pw *policyWriter) Unwrap() http.ResponseWriter { return pw.ResponseWriter }
