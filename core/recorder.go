package core

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
)

// recorder is the one writer wrapper of the cache. It buffers what the handler writes, up to a
// limit, so the cache can decide storability and add its own fields before anything reaches
// the client. Past the limit, or on Flush or Hijack, it switches to streaming: what was
// buffered and everything after goes straight to the client, and nothing is stored.
//
// Header() is the client's own header map (no copy on the common path); the header is
// snapshotted when the status is written, and that snapshot is what gets stored.
//
// When the handler returns, the cache calls handlerReturned: from then on every call the
// handler's goroutines still make fails (ErrHandlerReturned) without touching the buffer, so
// the cache can read it and hand it back to the pool while a goroutine the handler left
// behind keeps writing.
type recorder struct {
	// mu serialises the handler's calls with handlerReturned. The cache's own reads of the
	// fields after the handler returned need no lock: nothing else writes them any more.
	mu   sync.Mutex
	done bool // the handler returned: its calls fail

	bp      *[]byte             // the pooled buffer buf came from
	w       http.ResponseWriter // the client; nil for a background revalidation
	header  http.Header
	status  int
	snap    http.Header
	buf     []byte
	limit   int
	stream  bool // switched to streaming
	hijack  bool
	discard bool // background: over the limit, drop the rest
	reason  Reason
	// beforeStream runs once, before the headers go to the client in streaming mode.
	beforeStream func(h http.Header)
}

// ErrHandlerReturned is what a write (or flush, or hijack) to the cache's ResponseWriter
// returns once the handler has returned: net/http forbids using a ResponseWriter after
// ServeHTTP returns, and the cache refuses it instead of racing with the reuse of its buffer.
var ErrHandlerReturned = errors.New("core: write after the handler returned")

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

func newRecorder(w http.ResponseWriter, limit int) *recorder {
	rec := &recorder{w: w, limit: limit}
	if w != nil {
		rec.header = w.Header()
	} else {
		rec.header = make(http.Header)
	}
	rec.bp = bufPool.Get().(*[]byte)
	rec.buf = (*rec.bp)[:0]
	return rec
}

// release returns the buffer to the pool; the recorder must not be used after.
func (rec *recorder) release() {
	if cap(rec.buf) <= 1<<20 {
		*rec.bp = rec.buf[:0]
		bufPool.Put(rec.bp)
	}
	rec.buf, rec.bp = nil, nil
}

func (rec *recorder) Header() http.Header {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.done {
		return make(http.Header) // a late caller's changes go nowhere
	}
	return rec.header
}

func (rec *recorder) WriteHeader(code int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !rec.done {
		rec.writeHeader(code)
	}
}

func (rec *recorder) writeHeader(code int) {
	if rec.status != 0 || rec.hijack {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		// Informational answers (103 Early Hints) go straight to the client, never stored.
		if rec.w != nil {
			rec.writeInterim(code)
		}
		return
	}
	rec.status = code
	rec.snap = canonicalClone(rec.header)
	if n := declaredLength(code, rec.snap); n > int64(rec.limit) {
		// The handler announced more than the cache stores: the answer passes through from
		// now on, instead of being buffered up to the limit first.
		rec.reason = ReasonTooLarge
		_ = rec.startStream()
	}
}

// writeInterim sends a 1xx with the handler's current fields, as net/http does (it writes a
// 1xx with the header map as it is then, RFC 8297 §2). The handler's map is the cache's own
// (only its fields are stored), so they are laid over the client's map for the 1xx alone and
// taken off again: a field of an interim response does not apply to the final one (RFC 9110
// §15.2), which gets only what the handler's map holds when it writes its final status.
func (rec *recorder) writeInterim(code int) {
	h := rec.w.Header()
	type prior struct {
		v  []string
		ok bool
	}
	saved := make(map[string]prior, len(rec.header))
	for k, v := range rec.header {
		old, ok := h[k]
		saved[k] = prior{old, ok}
		h[k] = v
	}
	rec.w.WriteHeader(code)
	for k, p := range saved {
		if p.ok {
			h[k] = p.v
		} else {
			delete(h, k)
		}
	}
}

// canonicalClone snapshots a handler's header with every name in canonical form, merging the
// lines of names written in another case (w.Header()["set-cookie"]): storage rules, policy and
// encoding index the map by canonical names, and must see every field.
func canonicalClone(h http.Header) http.Header {
	out := h.Clone()
	for k, v := range h {
		ck := http.CanonicalHeaderKey(k)
		if ck == k {
			continue
		}
		delete(out, k)
		out[ck] = append(out[ck], v...)
	}
	return out
}

func (rec *recorder) Write(p []byte) (int, error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.done {
		return 0, ErrHandlerReturned
	}
	return rec.write(p)
}

func (rec *recorder) write(p []byte) (int, error) {
	if rec.hijack {
		return 0, http.ErrHijacked
	}
	if rec.status == 0 {
		rec.writeHeader(http.StatusOK)
	}
	if rec.stream {
		return rec.w.Write(p)
	}
	if rec.discard {
		return len(p), nil
	}
	if len(rec.buf)+len(p) > rec.limit {
		rec.reason = ReasonTooLarge
		if err := rec.startStream(); err != nil {
			return 0, err
		}
		if rec.discard {
			return len(p), nil
		}
		return rec.w.Write(p)
	}
	rec.buf = append(rec.buf, p...)
	return len(p), nil
}

// WriteString avoids a conversion for handlers that use io.WriteString.
func (rec *recorder) WriteString(s string) (int, error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.done {
		return 0, ErrHandlerReturned
	}
	if !rec.stream && !rec.hijack && !rec.discard && rec.status != 0 && len(rec.buf)+len(s) <= rec.limit {
		rec.buf = append(rec.buf, s...)
		return len(s), nil
	}
	return rec.write([]byte(s))
}

// startStream sends the snapshot and the buffered bytes to the client.
func (rec *recorder) startStream() error {
	if rec.w == nil {
		rec.discard = true
		return nil
	}
	rec.stream = true
	h := rec.w.Header()
	if rec.snap != nil {
		clear(h)
		for k, v := range rec.snap {
			h[k] = v
		}
	}
	if rec.beforeStream != nil {
		rec.beforeStream(h)
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
		rec.status = status
	}
	rec.w.WriteHeader(status)
	if len(rec.buf) > 0 {
		_, err := rec.w.Write(rec.buf)
		rec.buf = rec.buf[:0]
		return err
	}
	return nil
}

// FlushError turns a buffered response into a streamed one (it will not be stored) and
// flushes the client. http.ResponseController finds it.
func (rec *recorder) FlushError() error {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.done {
		return ErrHandlerReturned
	}
	if rec.hijack {
		return http.ErrHijacked
	}
	if !rec.stream {
		if rec.reason == "" {
			rec.reason = ReasonStreamed
		}
		if err := rec.startStream(); err != nil {
			return err
		}
		if rec.discard {
			return nil
		}
	}
	return http.NewResponseController(rec.w).Flush()
}

func (rec *recorder) Flush() { _ = rec.FlushError() }

// Hijack hands the connection to the handler; the response is then the handler's alone.
func (rec *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.done {
		return nil, nil, ErrHandlerReturned
	}
	if rec.w == nil {
		return nil, nil, errors.New("core: hijack during background revalidation")
	}
	conn, brw, err := http.NewResponseController(rec.w).Hijack()
	if err == nil {
		rec.hijack = true
		rec.reason = ReasonStreamed
	}
	return conn, brw, err
}

// Unwrap lets http.ResponseController reach deadlines and full duplex on the client writer
// while the handler runs (nil after: http.ResponseController then reports ErrNotSupported).
func (rec *recorder) Unwrap() http.ResponseWriter {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.done {
		return nil
	}
	return rec.w
}

// handlerReturned detaches the recorder from the handler, which has returned (or panicked):
// from now on the calls of any goroutine it left behind fail with ErrHandlerReturned, and
// the cache owns the buffer. A handler that wrote nothing gets net/http's empty 200, and
// unless it panicked, its trailers are passed on (see passTrailers).
func (rec *recorder) handlerReturned(panicked bool) {
	rec.mu.Lock()
	rec.done = true
	rec.mu.Unlock()
	if panicked {
		return
	}
	if rec.status == 0 && !rec.hijack {
		rec.writeHeader(http.StatusOK)
	}
	rec.passTrailers()
}

// buffered reports whether the whole response is in the buffer (and so may be stored).
func (rec *recorder) buffered() bool { return !rec.stream && !rec.hijack && !rec.discard }

// statusWriter records the status of a response passed straight through (unsafe methods).
// onStatus runs once with the final status, before it is sent.
type statusWriter struct {
	http.ResponseWriter
	status   int
	onStatus func(code int, h http.Header)
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
		if s.onStatus != nil {
			s.onStatus(code, s.Header())
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) FlushError() error {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	return http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *statusWriter) Flush() { _ = s.FlushError() }
