package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HTTPPurger is a Purger that forwards purges to a CDN or reverse proxy over HTTP:
//
//   - a URL purge is a request with URLMethod ("PURGE") for the URL's path and query, sent
//     to Endpoint with the URL's Host header: what Varnish (a vcl_recv PURGE branch), nginx
//     (proxy_cache_purge) and Souin accept;
//   - a tag purge is one TagMethod ("PURGE") request to Endpoint + TagPath carrying the tags
//     in TagHeader ("Surrogate-Key"), space-separated: Fastly's surrogate-key purge; for
//     Varnish with vmod_xkey set TagHeader to "xkey-purge"; for a Cloudflare cache-tag purge,
//     point Endpoint at a small relay that turns the header into the API's JSON;
//   - PurgeAll sends TagMethod to Endpoint + TagPath with AllHeader: 1, which the proxy maps
//     to a ban of everything (Varnish: ban("req.url ~ .")).
//
// Header is added to every request (an API token, say). A non-2xx answer is an error.
type HTTPPurger struct {
	// Endpoint is the base URL of the CDN or proxy, e.g. "http://127.0.0.1:6081". Required.
	Endpoint string
	// Client sends the requests. Default: a client with a 5s timeout.
	Client *http.Client
	// Header is added to every request. Default none.
	Header http.Header
	// URLMethod is the method of URL purges. Default "PURGE".
	URLMethod string
	// TagMethod is the method of tag and purge-all requests. Default "PURGE".
	TagMethod string
	// TagPath is the path tag purges are sent to. Default "/".
	TagPath string
	// TagHeader carries the tags. Default "Surrogate-Key".
	TagHeader string
	// AllHeader marks a purge of everything. Default "X-Purge-All".
	AllHeader string
}

var defaultPurgeClient = &http.Client{Timeout: 5 * time.Second}

func (p *HTTPPurger) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	return defaultPurgeClient
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (p *HTTPPurger) send(ctx context.Context, method, target, host string, h http.Header) error {
	if p.Endpoint == "" {
		return errors.New("core: HTTPPurger.Endpoint is empty")
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(p.Endpoint, "/")+target, nil)
	if err != nil {
		return fmt.Errorf("core: purge request: %w", err)
	}
	for k, v := range p.Header {
		req.Header[k] = v
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if host != "" {
		req.Host = host
	}
	resp, err := p.client().Do(req)
	if err != nil {
		return fmt.Errorf("core: purge %s %s: %w", method, target, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("core: purge %s %s: status %d", method, target, resp.StatusCode)
	}
	return nil
}

// PurgeURLs sends one URLMethod request per URL.
func (p *HTTPPurger) PurgeURLs(ctx context.Context, urls []string) error {
	var errs []error
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, p.send(ctx, or(p.URLMethod, "PURGE"), u.RequestURI(), u.Host, nil))
	}
	return errors.Join(errs...)
}

// PurgeTags sends one request naming every tag.
func (p *HTTPPurger) PurgeTags(ctx context.Context, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	h := http.Header{}
	h.Set(or(p.TagHeader, "Surrogate-Key"), strings.Join(tags, " "))
	return p.send(ctx, or(p.TagMethod, "PURGE"), or(p.TagPath, "/"), "", h)
}

// PurgeAll sends one request marked with AllHeader.
func (p *HTTPPurger) PurgeAll(ctx context.Context) error {
	h := http.Header{}
	h.Set(or(p.AllHeader, "X-Purge-All"), "1")
	return p.send(ctx, or(p.TagMethod, "PURGE"), or(p.TagPath, "/"), "", h)
}

var _ Purger = (*HTTPPurger)(nil)
