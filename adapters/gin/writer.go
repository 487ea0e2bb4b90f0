package gincache

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
)

const noWritten = -1

var errHijackAfterBody = errors.New("gincache: hijack after the response body was written")

// responseWriter is the gin.ResponseWriter handlers see while the cache runs them. It keeps
// gin's own semantics (the status is held until the first write or WriteHeaderNow, Size is
// -1 until then) and writes through core's writer, which captures the response for the
// cache. Flush and Hijack reach core's writer too, which then streams the response
// through, unstored.
type responseWriter struct {
	w      http.ResponseWriter // core's writer
	ctx    context.Context     // the request's, for CloseNotify
	status int
	size   int
	closed chan bool
	stop   func() bool
}

var (
	_ gin.ResponseWriter = (*responseWriter)(nil)
	_ interface {
		FlushError() error
		Unwrap() http.ResponseWriter
	} = (*responseWriter)(nil)
)

func (rw *responseWriter) reset(w http.ResponseWriter, r *http.Request, status int) {
	*rw = responseWriter{w: w, ctx: r.Context(), status: status, size: noWritten}
}

func (rw *responseWriter) release() {
	if rw.stop != nil {
		rw.stop()
	}
	*rw = responseWriter{}
}

func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

// WriteHeader records the status; it is sent with the first write, as gin does. An
// informational status (103 Early Hints) goes to core's writer at once, which sends it to
// the client with the fields set so far (gin's own writer would drop it).
func (rw *responseWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols && !rw.Written() {
		rw.w.WriteHeader(code)
		return
	}
	if code > 0 && rw.status != code && !rw.Written() {
		rw.status = code
	}
}

func (rw *responseWriter) WriteHeaderNow() {
	if !rw.Written() {
		rw.size = 0
		rw.w.WriteHeader(rw.status)
	}
}

func (rw *responseWriter) Write(p []byte) (int, error) {
	rw.WriteHeaderNow()
	n, err := rw.w.Write(p)
	rw.size += n
	return n, err
}

func (rw *responseWriter) WriteString(s string) (int, error) {
	rw.WriteHeaderNow()
	n, err := io.WriteString(rw.w, s)
	rw.size += n
	return n, err
}

func (rw *responseWriter) Status() int   { return rw.status }
func (rw *responseWriter) Size() int     { return rw.size }
func (rw *responseWriter) Written() bool { return rw.size != noWritten }

// FlushError sends what was written so far to the client; the response is then streamed,
// and not stored.
func (rw *responseWriter) FlushError() error {
	rw.WriteHeaderNow()
	return http.NewResponseController(rw.w).Flush()
}

func (rw *responseWriter) Flush() { _ = rw.FlushError() }

// Hijack hands the connection to the handler, as gin allows: before any body was written.
func (rw *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if rw.size > 0 {
		return nil, nil, errHijackAfterBody
	}
	if rw.size < 0 {
		rw.size = 0
	}
	return http.NewResponseController(rw.w).Hijack()
}

// CloseNotify reports the client going away, from the request's context. It starts no
// goroutine until the context is done, and nothing is left behind once the handler returns.
func (rw *responseWriter) CloseNotify() <-chan bool {
	if rw.closed == nil {
		ch := make(chan bool, 1)
		rw.closed = ch
		rw.stop = context.AfterFunc(rw.ctx, func() { ch <- true })
	}
	return rw.closed
}

// Pusher returns the client connection's http.Pusher (HTTP/2), or nil.
func (rw *responseWriter) Pusher() http.Pusher {
	for w := rw.w; w != nil; {
		if p, ok := w.(http.Pusher); ok {
			return p
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// Unwrap lets http.ResponseController reach core's writer (and through it the client's).
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.w }
