package etag

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBody is the largest body Middleware buffers when Options.MaxBody
// is zero: 1 MiB.
const DefaultMaxBody = 1 << 20

// Options configures MiddlewareWithOptions. The zero value is the default
// Middleware uses.
type Options struct {
	// MaxBody is the largest response body, in bytes, that is buffered to
	// compute an ETag. A response that grows past it, or that declares a
	// larger Content-Length, streams to the client without a generated ETag.
	// A negative value turns generation off; validators the handler sets
	// itself are still evaluated.
	// Default: DefaultMaxBody (1 MiB) when zero.
	MaxBody int

	// Weak makes generated ETags weak (W/"…"). Use it when something between
	// the handler and the client, such as a compressor wrapped around this
	// middleware, may change the bytes without changing the meaning.
	// Default: false (strong ETags).
	Weak bool
}

// Middleware adds an ETag to GET and HEAD responses and answers conditional
// requests with 304 or 412, using the default Options. See the package
// documentation for which responses it touches.
func Middleware(next http.Handler) http.Handler {
	return MiddlewareWithOptions(Options{})(next)
}

// MiddlewareWithOptions returns a middleware like Middleware configured by o.
func MiddlewareWithOptions(o Options) func(http.Handler) http.Handler {
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				next.ServeHTTP(w, r)
				return
			}
			ww := &writer{w: w, r: r, max: o.MaxBody, weak: o.Weak}
			// No defer: when the handler panics, the panic propagates and
			// nothing buffered reaches w, so a recoverer further out still
			// owns a clean response.
			next.ServeHTTP(ww, r)
			ww.finish()
		})
	}
}

// state is where a writer is in its response.
type state uint8

const (
	idle       state = iota // no final status yet
	buffering               // a 200 whose body is being collected; headers in snap
	passing                 // everything goes straight to the underlying writer
	discarding              // the middleware answered 304/412; the handler's body is dropped
)

// writer is the middleware's one ResponseWriter wrapper. It reaches the
// underlying writer's optional interfaces through Unwrap (for
// http.ResponseController) and implements the ones whose meaning it changes:
// Flush/FlushError, Hijack and ReadFrom.
type writer struct {
	w        http.ResponseWriter
	r        *http.Request
	max      int
	weak     bool
	state    state
	snap     http.Header // header as it was at WriteHeader, while buffering
	declared int         // Content-Length the handler set, or -1
	buf      []byte
	pooled   *[]byte // buf's pool slot, nil when buf is not pooled
}

// Interface guards.
var (
	_ http.Flusher  = (*writer)(nil)
	_ http.Hijacker = (*writer)(nil)
	_ io.ReaderFrom = (*writer)(nil)
	_ interface {
		Unwrap() http.ResponseWriter
		FlushError() error
		io.StringWriter
	} = (*writer)(nil)
)

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (ww *writer) Unwrap() http.ResponseWriter { return ww.w }

// Header returns the underlying writer's header map. Changes made after
// WriteHeader are ignored, as net/http ignores them, except trailers.
func (ww *writer) Header() http.Header { return ww.w.Header() }

// WriteHeader decides, from the status and the header fields set so far,
// whether the response is buffered for an ETag, answered by the middleware,
// or passed through.
func (ww *writer) WriteHeader(code int) {
	switch ww.state {
	case passing:
		ww.w.WriteHeader(code) // net/http reports superfluous calls
		return
	case buffering, discarding:
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		ww.w.WriteHeader(code) // informational; the final status is still to come
		return
	}
	h := ww.w.Header()
	switch {
	case code != http.StatusOK:
		// 304s the handler wrote itself, 206 partial content, errors,
		// redirects: not ours.
		ww.pass(code)
	case h.Get("Etag") != "":
		// The handler chose its own validator: keep it, and evaluate the
		// request's preconditions against it now. Nothing is buffered.
		ww.answer(h.Get("Etag"), lastModified(h))
	case ww.max < 0 || encoded(h) || h.Get("Content-Range") != "" || h.Get("Trailer") != "":
		// No generated ETag. An encoded body may come from a
		// non-deterministic encoder, and a strong tag must differ between
		// content codings: that is the encoder's business. A body with
		// declared trailers must stay chunked. The handler's Last-Modified,
		// if any, is still evaluated.
		ww.answer("", lastModified(h))
	default:
		ww.declared = -1
		if cl := h.Get("Content-Length"); cl != "" {
			n, err := strconv.ParseInt(cl, 10, 64)
			if err != nil || n < 0 || n > int64(ww.max) {
				ww.answer("", lastModified(h))
				return
			}
			ww.declared = int(n)
		}
		ww.snap = h.Clone()
		ww.state = buffering
	}
}

// Write buffers p while the body fits in MaxBody; past it the writer
// switches to streaming.
func (ww *writer) Write(p []byte) (int, error) {
	if ww.state == idle {
		ww.WriteHeader(http.StatusOK)
	}
	switch ww.state {
	case buffering:
		if len(ww.buf)+len(p) <= ww.max {
			ww.grow()
			ww.buf = append(ww.buf, p...)
			return len(p), nil
		}
		if err := ww.stream(); err != nil {
			return 0, err
		}
		return ww.Write(p) // passing or discarding now
	case discarding:
		return len(p), nil
	}
	return ww.w.Write(p)
}

// WriteString is Write for a string, without converting it.
func (ww *writer) WriteString(s string) (int, error) {
	if ww.state == idle {
		ww.WriteHeader(http.StatusOK)
	}
	switch ww.state {
	case buffering:
		if len(ww.buf)+len(s) <= ww.max {
			ww.grow()
			ww.buf = append(ww.buf, s...)
			return len(s), nil
		}
		if err := ww.stream(); err != nil {
			return 0, err
		}
		return ww.WriteString(s)
	case discarding:
		return len(s), nil
	}
	return io.WriteString(ww.w, s)
}

// ReadFrom lets io.Copy keep the underlying writer's fast path (sendfile)
// once the response is passing through.
func (ww *writer) ReadFrom(src io.Reader) (int64, error) {
	if ww.state == idle {
		ww.WriteHeader(http.StatusOK)
	}
	if ww.state == passing {
		return io.Copy(ww.w, src)
	}
	return io.Copy(writeOnly{ww}, src)
}

// writeOnly hides writer.ReadFrom from io.Copy.
type writeOnly struct{ io.Writer }

// Flush sends what the handler has written so far; a buffered response
// switches to streaming first.
func (ww *writer) Flush() { _ = ww.FlushError() }

// FlushError is Flush returning the underlying writer's error, as
// http.ResponseController expects.
func (ww *writer) FlushError() error {
	if ww.state == idle {
		ww.WriteHeader(http.StatusOK)
	}
	if ww.state == buffering {
		if err := ww.stream(); err != nil {
			return err
		}
	}
	return http.NewResponseController(ww.w).Flush()
}

// Hijack hands the connection to the handler. A buffered response is written
// out (headers and body so far) first.
func (ww *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	rc := http.NewResponseController(ww.w)
	if ww.state == buffering {
		if err := ww.stream(); err != nil {
			return nil, nil, err
		}
		// net/http's Hijack sends the header but not body bytes still in
		// its buffer; flush them so what the handler wrote is not lost.
		_ = rc.Flush()
	}
	c, rw, err := rc.Hijack()
	if err == nil {
		ww.state = passing
		ww.release()
	}
	return c, rw, err
}

// pass sends the status and lets the body go straight through.
func (ww *writer) pass(code int) {
	ww.state = passing
	ww.w.WriteHeader(code)
}

// answer evaluates the request's preconditions against the given validators
// and writes the 304 or 412, or the 200 header to pass the body through. With
// no validator at all it just passes.
func (ww *writer) answer(etag string, lm time.Time) {
	if etag == "" && lm.IsZero() {
		ww.pass(http.StatusOK)
		return
	}
	// A 200 is on its way, so the representation exists even without an
	// ETag: If-Match: * holds and If-None-Match: * fails.
	if respond(ww.w, evaluate(ww.r.Method, ww.r.Header, etag, lm, true)) {
		ww.state = discarding
		return
	}
	ww.pass(http.StatusOK)
}

// stream gives up on a generated ETag: the snapshotted header goes out,
// preconditions are evaluated against the handler's Last-Modified if any, and
// what was buffered is written.
func (ww *writer) stream() error {
	ww.restore()
	ww.answer("", lastModified(ww.w.Header()))
	return ww.flushBuffer()
}

// finish completes a response after the handler returned.
func (ww *writer) finish() {
	if ww.state == idle {
		ww.WriteHeader(http.StatusOK)
	}
	if ww.state != buffering {
		return
	}
	ww.restore()
	h := ww.w.Header()
	n := len(ww.buf)
	if (ww.r.Method == http.MethodHead && n == 0) || (ww.declared >= 0 && ww.declared != n) {
		// A HEAD handler that wrote no body, or a body that disagrees with
		// its declared length: the bytes are not the representation, so no
		// ETag is derived from them.
		ww.answer("", lastModified(h))
		_ = ww.flushBuffer()
		return
	}
	var tag [weakLen]byte
	var etag string
	if ww.weak {
		etag = string(AppendWeak(tag[:0], ww.buf))
	} else {
		etag = string(AppendStrong(tag[:0], ww.buf))
	}
	h["Etag"] = []string{etag}
	if !hasTrailers(h) {
		// With a length the body is not chunked, which would drop
		// http.TrailerPrefix trailers over HTTP/1.1.
		h["Content-Length"] = []string{strconv.Itoa(n)}
	}
	ww.answer(etag, lastModified(h))
	_ = ww.flushBuffer()
}

// flushBuffer writes the buffered body when passing and releases it.
func (ww *writer) flushBuffer() error {
	var err error
	if ww.state == passing && len(ww.buf) > 0 {
		_, err = ww.w.Write(ww.buf)
	}
	ww.release()
	return err
}

// restore makes the underlying header what it was when WriteHeader was
// called, keeping http.TrailerPrefix trailers set since. (Responses that
// declare trailers in a Trailer field are never buffered.)
func (ww *writer) restore() {
	h := ww.w.Header()
	for k := range h {
		if _, ok := ww.snap[k]; !ok && !strings.HasPrefix(k, http.TrailerPrefix) {
			delete(h, k)
		}
	}
	for k, v := range ww.snap {
		h[k] = v
	}
	ww.snap = nil
}

// hasTrailers reports whether h holds http.TrailerPrefix trailers.
func hasTrailers(h http.Header) bool {
	for k := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			return true
		}
	}
	return false
}

// encoded reports whether the response has a content coding other than
// identity.
func encoded(h http.Header) bool {
	for _, v := range h["Content-Encoding"] {
		if v = trimOWS(v); v != "" && !strings.EqualFold(v, "identity") {
			return true
		}
	}
	return false
}

// lastModified returns the handler's Last-Modified, or the zero Time when it
// is absent or invalid.
func lastModified(h http.Header) time.Time {
	t, _ := date(h["Last-Modified"])
	return t
}

// Body buffers of up to maxPooled bytes are reused between responses.
const (
	minBuffer = 4 << 10
	maxPooled = 64 << 10
)

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, minBuffer)
	return &b
}}

// grow makes sure buf exists, sized for the declared length when known.
func (ww *writer) grow() {
	if ww.buf != nil {
		return
	}
	if ww.declared > maxPooled {
		ww.buf = make([]byte, 0, ww.declared)
		return
	}
	ww.pooled = bufPool.Get().(*[]byte)
	ww.buf = (*ww.pooled)[:0]
	if ww.declared > 0 {
		ww.buf = slices.Grow(ww.buf, ww.declared)
	}
}

// release returns buf to the pool when it came from there and stayed small.
func (ww *writer) release() {
	if ww.pooled != nil && cap(ww.buf) <= maxPooled {
		*ww.pooled = ww.buf[:0]
		bufPool.Put(ww.pooled)
	}
	ww.pooled, ww.buf = nil, nil
}
