package core

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
)

// WarmOptions configures Warm. The zero value is a working default; every field's comment
// ends with its default.
type WarmOptions struct {
	// Concurrency is the number of requests in flight at once. Default 8.
	Concurrency int
	// Host is the Host of relative URLs ("/products/1"). The cache key includes the request
	// Host, so set it to the host clients send ("api.example.com", "127.0.0.1:8080"), or list
	// absolute URLs. Default "localhost".
	Host string
	// Header is added to every request, for example Accept-Encoding to warm the variant that
	// clients ask for. Default none.
	Header http.Header
	// Progress is called after each URL with the number done and the summary so far. Calls
	// are serialized and hold up the other workers: keep it quick. Default none.
	Progress func(done int, s WarmSummary)
	// MaxErrors caps WarmSummary.Errors (Failed still counts every failure). Default 10;
	// negative keeps none.
	MaxErrors int
}

// WarmSummary is what Warm did, classified by each response's Cache-Status.
type WarmSummary struct {
	Total       int     // URLs answered
	Stored      int     // the handler ran and the answer was stored ("stored")
	Cached      int     // already in the cache: a hit, or filled by a concurrent request ("collapsed")
	NotStorable int     // answered but not stored (private, no-store, no freshness, …)
	Failed      int     // a 5xx, a handler panic, or a URL that is not an http(s) URL
	Errors      []error // the first MaxErrors failures
}

// String renders the summary on one line.
func (s WarmSummary) String() string {
	return fmt.Sprintf("%d URLs: %d stored, %d already cached, %d not storable, %d failed",
		s.Total, s.Stored, s.Cached, s.NotStorable, s.Failed)
}

type warmOutcome uint8

const (
	warmStored warmOutcome = iota
	warmCached
	warmNotStorable
	warmFailed
)

// Warm fills the cache before traffic arrives: it sends a GET for each URL through h, the
// application's whole handler (router included) with the cache middleware inside, at most
// Concurrency at a time, and classifies each answer by its Cache-Status. Requests run in
// process: nothing listens on a socket.
//
// Per-URL failures are counted in the summary, not returned. The error is ctx's when it ends
// first; the summary then covers the URLs answered until then. urls is read from one
// goroutine, as an iter.Seq expects.
func (c *Cache) Warm(ctx context.Context, h http.Handler, urls iter.Seq[string], o WarmOptions) (WarmSummary, error) {
	workers := o.Concurrency
	if workers <= 0 {
		workers = 8
	}
	host := o.Host
	if host == "" {
		host = "localhost"
	}
	maxErrors := o.MaxErrors
	if maxErrors == 0 {
		maxErrors = 10
	}

	var (
		mu   sync.Mutex
		sum  WarmSummary
		wg   sync.WaitGroup
		jobs = make(chan string)
	)
	record := func(out warmOutcome, err error) {
		mu.Lock()
		defer mu.Unlock()
		sum.Total++
		switch out {
		case warmStored:
			sum.Stored++
		case warmCached:
			sum.Cached++
		case warmNotStorable:
			sum.NotStorable++
		case warmFailed:
			sum.Failed++
			if err != nil && len(sum.Errors) < maxErrors {
				sum.Errors = append(sum.Errors, err)
			}
		}
		if o.Progress != nil {
			s := sum
			s.Errors = slices.Clip(s.Errors)
			o.Progress(sum.Total, s)
		}
	}
	for range workers {
		wg.Go(func() {
			for u := range jobs {
				out, err := c.warmOne(ctx, h, u, host, o.Header)
				if ctx.Err() != nil {
					continue // cut short: neither an answer nor a failure of the URL
				}
				record(out, err)
			}
		})
	}
feed:
	for u := range urls {
		select {
		case jobs <- u:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return sum, ctx.Err()
}

// warmOne sends one GET through h and classifies the answer.
func (c *Cache) warmOne(ctx context.Context, h http.Handler, raw, host string, hdr http.Header) (out warmOutcome, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return warmFailed, fmt.Errorf("core: warm: %w", err)
	}
	if u.Host == "" && u.Scheme == "" {
		u.Scheme, u.Host = "http", host
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return warmFailed, fmt.Errorf("core: warm %q: not an http(s) URL or path", raw)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return warmFailed, fmt.Errorf("core: warm %q: %w", raw, err)
	}
	// What a server sets on an incoming request.
	r.RequestURI = r.URL.RequestURI()
	r.RemoteAddr = "127.0.0.1:0"
	for k, v := range hdr {
		r.Header[k] = slices.Clone(v)
	}
	w := &warmWriter{header: make(http.Header)}
	defer func() {
		if p := recover(); p != nil {
			out, err = warmFailed, fmt.Errorf("core: warm %s: handler panicked: %v", u, p)
			if e, ok := p.(error); ok && errors.Is(e, http.ErrAbortHandler) {
				err = fmt.Errorf("core: warm %s: handler aborted", u)
			}
		}
	}()
	h.ServeHTTP(w, r)
	status := w.status
	if status == 0 {
		status = http.StatusOK // net/http answers 200 for a handler that wrote nothing
	}
	if status >= 500 {
		return warmFailed, fmt.Errorf("core: warm %s: status %d", u, status)
	}
	return c.warmClassify(w.header.Values("Cache-Status")), nil
}

// warmClassify reads this cache's member of Cache-Status (RFC 9211): "stored" → stored;
// "hit" or "collapsed" → already cached; anything else (or no member) → not storable.
func (c *Cache) warmClassify(values []string) warmOutcome {
	var member string
	for _, v := range values {
		for m := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(m, ";")
			if strings.TrimSpace(name) == c.cfg.Name {
				member = m // the last one is the cache nearest the client
			}
		}
	}
	cached := false
	for p := range strings.SplitSeq(member, ";") {
		key, _, _ := strings.Cut(p, "=")
		switch strings.TrimSpace(key) {
		case "stored":
			return warmStored
		case "hit", "collapsed":
			cached = true
		}
	}
	if cached {
		return warmCached
	}
	return warmNotStorable
}

// warmWriter keeps the status and header of a warm-up answer and drops the body.
type warmWriter struct {
	header http.Header
	status int
}

func (w *warmWriter) Header() http.Header { return w.header }

func (w *warmWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
}

func (w *warmWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}

// Flush lets streaming handlers run; there is nobody to flush to.
func (w *warmWriter) Flush() {}

// WarmFile reads a warm-up list: one URL or path per line; blank lines and lines starting
// with "#" are skipped, and anything after the first space is a comment.
func WarmFile(path string) (iter.Seq[string], error) {
	b, err := os.ReadFile(path) //nolint:gosec // G304: reading the file its caller names is what it is for
	if err != nil {
		return nil, fmt.Errorf("core: warm file: %w", err)
	}
	var urls []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		urls = append(urls, f[0])
	}
	return slices.Values(urls), nil
}
