package main

import (
	"log"
	"mime"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// ProxyOptions configures NewProxyWithOptions. The zero value is NewProxy's behaviour.
type ProxyOptions struct {
	// PreserveHost sends the client's Host to the upstream instead of the upstream URL's
	// host, for upstreams that serve several virtual hosts. Default false.
	PreserveHost bool
	// Transport makes the upstream requests. Default http.DefaultTransport.
	Transport http.RoundTripper
	// ErrorLog receives upstream errors (the client gets a 502). Default: the log package's
	// standard logger.
	ErrorLog *log.Logger
	// TargetedFields are the cache's core.Config.TargetedFields, so that the proxy decides
	// whether a chunked answer is buffered for the cache (see flushFilter) by the same field
	// the cache stores it by. Default none.
	TargetedFields []string
}

// NewProxy returns a caching reverse proxy to upstream: an httputil.ReverseProxy behind
// cache.Middleware. The cache stores what the upstream's Cache-Control lets a shared cache
// store (RFC 9111), answers conditional requests, revalidates stale entries with its own
// validators, serves Cache-Status, and passes other methods through, invalidating the URL
// when they succeed.
func NewProxy(upstream *url.URL, cache *core.Cache) http.Handler {
	return NewProxyWithOptions(upstream, cache, ProxyOptions{})
}

// NewProxyWithOptions is NewProxy with options.
func NewProxyWithOptions(upstream *url.URL, cache *core.Cache, o ProxyOptions) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
			if o.PreserveHost {
				pr.Out.Host = pr.In.Host
			}
			// RFC 9110 §7.6.3: a gateway sends Via in each request it forwards.
			pr.Out.Header.Add("Via", viaValue(pr.In))
		},
		Transport: o.Transport,
		ErrorLog:  o.ErrorLog,
	}
	return cache.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp.ServeHTTP(&flushFilter{ResponseWriter: w, targeted: o.TargetedFields}, r)
	}))
}

// viaValue is "<received-protocol> strata", e.g. "1.1 strata" or "2 strata".
func viaValue(r *http.Request) string {
	v := strconv.Itoa(r.ProtoMajor)
	if r.ProtoMajor < 2 {
		v += "." + strconv.Itoa(r.ProtoMinor)
	}
	return v + " strata"
}

// flushFilter decides which of the ReverseProxy's flushes reach the cache.
//
// ReverseProxy flushes after every write when the upstream's answer has no Content-Length
// (a chunked body), and a flush makes the cache stream the response through unstored. So for
// a response the cache may store (explicit freshness, neither no-store nor private) the
// flushes are dropped: the cache buffers it, stores it and sends it whole. Server-sent events
// and responses the cache would not store anyway keep their flushes, so streaming streams.
type flushFilter struct {
	http.ResponseWriter
	targeted      []string // targeted cache-control fields the cache obeys (RFC 9213)
	decided, pass bool
}

func (f *flushFilter) FlushError() error {
	if !f.decided {
		f.decided = true
		f.pass = streams(f.Header(), f.targeted)
	}
	if !f.pass {
		return nil
	}
	return http.NewResponseController(f.ResponseWriter).Flush()
}

func (f *flushFilter) Flush() { _ = f.FlushError() }

// Unwrap lets http.ResponseController reach the client writer (deadlines, full duplex).
func (f *flushFilter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

// streams reports whether a response keeps its flushes: an event stream, or a response
// without explicit freshness, or one a shared cache must not store. The first of targeted
// that the response carries, valid, stands for its Cache-Control and Expires (RFC 9213).
func streams(h http.Header, targeted []string) bool {
	if ct, _, _ := mime.ParseMediaType(h.Get("Content-Type")); ct == "text/event-stream" {
		return true
	}
	cc, expires := headers.ParseCacheControl(h["Cache-Control"]), len(h["Expires"]) > 0
	for _, name := range targeted {
		if d, ok := headers.ParseTargeted(h.Values(name)); ok {
			cc, expires = d, false
			break
		}
	}
	if cc.NoStore || (cc.Private && len(cc.PrivateFields) == 0) {
		return true
	}
	return !cc.SMaxAge.Valid && !cc.MaxAge.Valid && !expires
}
