package conformance

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// noFlushWriter is the writer of an outer middleware that cannot flush: a wrapper without
// Flush, FlushError or Unwrap, as many logging and metrics middlewares are. What the handler
// writes leaves only when it returns.
type noFlushWriter struct{ http.ResponseWriter }

// requestID carries a request's number from the suite's client to its server, which removes
// it before the mounted handler sees the request.
const requestID = "X-Conformance-Request"

// h2conn is a run's TLS HTTP/2 server in front of the mounted handler, and its client.
type h2conn struct {
	srv    *httptest.Server
	client *http.Client
	seq    atomic.Int64
	seen   sync.Map // request number → served
}

// served is what the server side saw of one request.
type served struct {
	flushed bool // a flush reached the server's writer
	panic   any  // a panic escaped the mounted handler
}

// startHTTP2 serves h over TLS with HTTP/2, for the duration of the test.
func startHTTP2(t *testing.T, h http.Handler) *h2conn {
	c := &h2conn{}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestID)
		r.Header.Del(requestID)
		tw := &trackWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			c.seen.Store(id, served{flushed: tw.flushed.Load(), panic: p})
			if p != nil {
				panic(http.ErrAbortHandler) // reset the stream, as net/http does; the step reports p
			}
		}()
		h.ServeHTTP(tw, r)
	}))
	c.srv.EnableHTTP2 = true
	c.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	c.srv.StartTLS()
	c.client = c.srv.Client()
	tr := c.client.Transport.(*http.Transport)
	tr.DisableCompression = true // the scenarios set Accept-Encoding themselves
	c.client.Timeout = 30 * time.Second
	c.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		c.srv.Close()
	})
	return c
}

// roundTrip sends r (built by the step as for an in-process run) over the connection and
// reads the whole answer.
func (c *h2conn) roundTrip(t *testing.T, r *http.Request, send string) *response {
	t.Helper()
	var body io.Reader
	if send != "" {
		body = strings.NewReader(send)
	}
	req, err := http.NewRequest(r.Method, c.srv.URL+r.URL.RequestURI(), body) //nolint:gosec // G704: the test's own loopback server
	if err != nil {
		t.Fatalf("http2: %v", err)
	}
	req.Host = r.Host
	req.Header = r.Header.Clone()
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = []string{""} // as in process: no User-Agent unless the step sets one
	}
	id := strconv.FormatInt(c.seq.Add(1), 10)
	req.Header.Set(requestID, id)
	res := &response{}
	resp, err := c.client.Do(req) //nolint:gosec // G704: the test's own loopback server
	if err == nil {
		b, rerr := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		res.status, res.header, res.body, err = resp.StatusCode, resp.Header, string(b), rerr
		if resp.ProtoMajor != 2 {
			t.Errorf("http2: the answer came over %s", resp.Proto)
		}
	}
	if v, ok := c.seen.Load(id); ok {
		s := v.(served)
		res.flushed, res.panic = s.flushed, s.panic
	}
	if err != nil && res.panic == nil {
		t.Errorf("http2: %s %s: %v", r.Method, r.URL.RequestURI(), err)
	}
	return res
}

// trackWriter notes whether a flush reached the server's writer (what an in-process run reads
// from the recorder's Flushed).
type trackWriter struct {
	http.ResponseWriter
	flushed atomic.Bool
}

func (w *trackWriter) FlushError() error {
	err := http.NewResponseController(w.ResponseWriter).Flush()
	if err == nil {
		w.flushed.Store(true)
	}
	return err
}

func (w *trackWriter) Flush() { _ = w.FlushError() }

func (w *trackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
