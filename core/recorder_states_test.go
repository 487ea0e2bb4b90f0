package core

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Buffering: under the limit nothing reaches the client; the header is snapshotted when the
// status is written (later changes are not stored), and the body is kept whole.
func TestRecorderBuffers(t *testing.T) {
	w := httptest.NewRecorder()
	rec := newRecorder(w, 16)
	defer rec.release()
	rec.Header().Set("X-A", "1")
	rec.WriteHeader(201)
	rec.Header().Set("X-Late", "after the status")
	rec.WriteHeader(500) // a second status is ignored
	if n, err := rec.Write([]byte("hello ")); n != 6 || err != nil {
		t.Fatalf("Write: %d %v", n, err)
	}
	if n, err := rec.WriteString("world"); n != 5 || err != nil {
		t.Fatalf("WriteString: %d %v", n, err)
	}
	if !rec.buffered() || rec.status != 201 || string(rec.buf) != "hello world" || rec.reason != "" {
		t.Fatalf("buffered %v, status %d, buf %q, reason %q", rec.buffered(), rec.status, rec.buf, rec.reason)
	}
	if rec.snap.Get("X-A") != "1" || rec.snap.Get("X-Late") != "" {
		t.Fatalf("snapshot %v: want the fields as the status was written", rec.snap)
	}
	if w.Body.Len() != 0 || w.Flushed {
		t.Fatal("a buffered response reached the client")
	}
}

// The snapshot holds every field in canonical form: lines written under another case merge.
func TestRecorderSnapshotCanonical(t *testing.T) {
	rec := newRecorder(nil, 16)
	defer rec.release()
	rec.Header()["set-cookie"] = []string{"a=1"} //nolint:staticcheck // SA1008: a handler's non-canonical key, on purpose
	rec.Header()["Set-Cookie"] = []string{"b=2"}
	rec.WriteHeader(200)
	if got := rec.snap["Set-Cookie"]; len(got) != 2 || rec.snap["set-cookie"] != nil { //nolint:staticcheck // SA1008: the raw key must be gone
		t.Fatalf("snapshot Set-Cookie %q, raw %q", got, rec.snap["set-cookie"]) //nolint:staticcheck // SA1008: as above
	}
}

// Over the limit the recorder streams: the client gets the status, the snapshot with the
// cache's fields (beforeStream, once), what was buffered and everything after; nothing is
// stored.
func TestRecorderOverLimitStreams(t *testing.T) {
	w := httptest.NewRecorder()
	rec := newRecorder(w, 8)
	defer rec.release()
	calls := 0
	rec.beforeStream = func(h http.Header) { calls++; h.Set("Cache-Status", "streamed") }
	rec.Header().Set("Content-Type", "text/plain")
	rec.WriteHeader(203)
	_, _ = rec.Write([]byte("12345"))
	if w.Body.Len() != 0 {
		t.Fatal("streamed before the limit")
	}
	_, _ = rec.Write([]byte("6789")) // 9 bytes: over
	_, _ = rec.WriteString("abc")
	if rec.buffered() || rec.reason != ReasonTooLarge || calls != 1 {
		t.Fatalf("buffered %v, reason %q, beforeStream ran %d times", rec.buffered(), rec.reason, calls)
	}
	if w.Code != 203 || w.Body.String() != "123456789abc" || w.Header().Get("Content-Type") != "text/plain" ||
		w.Header().Get("Cache-Status") != "streamed" {
		t.Fatalf("client got %d %q %v", w.Code, w.Body.String(), w.Header())
	}
	if len(rec.buf) != 0 {
		t.Fatalf("the buffer kept %q after streaming", rec.buf)
	}
}

// Flush switches to streaming and flushes the client; a flush before any write sends 200.
func TestRecorderFlush(t *testing.T) {
	t.Run("after a write", func(t *testing.T) {
		w := httptest.NewRecorder()
		rec := newRecorder(w, 1024)
		defer rec.release()
		_, _ = rec.Write([]byte("part 1;"))
		if err := http.NewResponseController(rec).Flush(); err != nil {
			t.Fatal(err)
		}
		_, _ = rec.Write([]byte("part 2"))
		if rec.buffered() || rec.reason != ReasonStreamed || !w.Flushed || w.Body.String() != "part 1;part 2" {
			t.Fatalf("buffered %v, reason %q, flushed %v, body %q", rec.buffered(), rec.reason, w.Flushed, w.Body.String())
		}
	})
	t.Run("before any write", func(t *testing.T) {
		w := httptest.NewRecorder()
		rec := newRecorder(w, 1024)
		defer rec.release()
		rec.Flush()
		if rec.status != 200 || w.Code != 200 || !w.Flushed {
			t.Fatalf("status %d, client %d, flushed %v", rec.status, w.Code, w.Flushed)
		}
	})
	t.Run("the client cannot flush", func(t *testing.T) {
		w := httptest.NewRecorder()
		rec := newRecorder(struct{ http.ResponseWriter }{w}, 1024)
		defer rec.release()
		_, _ = rec.Write([]byte("x"))
		if err := rec.FlushError(); !errors.Is(err, http.ErrNotSupported) {
			t.Fatalf("FlushError on a writer that cannot flush: %v", err)
		}
		if rec.buffered() || w.Body.String() != "x" {
			t.Fatal("the response must stream (unstored) even when the flush fails")
		}
	})
}

// hijackWriter is a client writer whose connection can be taken.
type hijackWriter struct {
	*httptest.ResponseRecorder
	conn net.Conn
}

func (h *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.conn, bufio.NewReadWriter(bufio.NewReader(h.conn), bufio.NewWriter(h.conn)), nil
}

// After a hijack the response is the handler's alone: nothing is stored, and writes, a
// status and flushes through the recorder fail or are ignored.
func TestRecorderHijack(t *testing.T) {
	a, b := net.Pipe()
	defer func() { _ = a.Close() }()
	defer func() { _ = b.Close() }()
	w := &hijackWriter{ResponseRecorder: httptest.NewRecorder(), conn: a}
	rec := newRecorder(w, 1024)
	defer rec.release()
	conn, _, err := http.NewResponseController(rec).Hijack()
	if err != nil || conn != a {
		t.Fatalf("Hijack: %v", err)
	}
	if rec.buffered() || rec.reason != ReasonStreamed {
		t.Fatalf("after hijack: buffered %v, reason %q", rec.buffered(), rec.reason)
	}
	rec.WriteHeader(200)
	if rec.status != 0 {
		t.Fatal("a status after the hijack was recorded")
	}
	if _, err := rec.Write([]byte("x")); !errors.Is(err, http.ErrHijacked) {
		t.Fatalf("Write after hijack: %v", err)
	}
	if err := rec.FlushError(); !errors.Is(err, http.ErrHijacked) {
		t.Fatalf("Flush after hijack: %v", err)
	}
	if w.Body.Len() != 0 {
		t.Fatal("the recorder wrote to a hijacked client")
	}
}

// Without a client (a background refresh): over the limit the rest is dropped, a flush only
// marks the response unstorable, and hijacking fails.
func TestRecorderBackground(t *testing.T) {
	rec := newRecorder(nil, 4)
	defer rec.release()
	rec.Header().Set("X-A", "1")
	if n, err := rec.Write([]byte("123456")); n != 6 || err != nil {
		t.Fatalf("Write over the limit: %d %v", n, err)
	}
	if rec.buffered() || rec.reason != ReasonTooLarge {
		t.Fatalf("buffered %v, reason %q", rec.buffered(), rec.reason)
	}
	if n, err := rec.WriteString("more"); n != 4 || err != nil {
		t.Fatalf("WriteString after the limit: %d %v", n, err)
	}
	if _, _, err := rec.Hijack(); err == nil {
		t.Fatal("Hijack without a client succeeded")
	}

	flushed := newRecorder(nil, 1024)
	defer flushed.release()
	_, _ = flushed.Write([]byte("x"))
	if err := flushed.FlushError(); err != nil || flushed.buffered() || flushed.reason != ReasonStreamed {
		t.Fatalf("flush without a client: %v, buffered %v, reason %q", err, flushed.buffered(), flushed.reason)
	}
}

// Informational answers (103 Early Hints) go straight to the client and are not the status.
func TestRecorderInformational(t *testing.T) {
	var codes []int
	w := &statusLog{ResponseWriter: httptest.NewRecorder(), codes: &codes}
	rec := newRecorder(w, 1024)
	defer rec.release()
	rec.WriteHeader(http.StatusEarlyHints)
	rec.WriteHeader(200)
	if len(codes) != 1 || codes[0] != http.StatusEarlyHints || rec.status != 200 {
		t.Fatalf("client saw %v, recorded status %d", codes, rec.status)
	}
}

type statusLog struct {
	http.ResponseWriter
	codes *[]int
}

func (s *statusLog) WriteHeader(code int) { *s.codes = append(*s.codes, code) }

// A handler that writes after it returned (a goroutine it left behind) must not reach the
// buffer the recorder gave back to the pool, which the next response uses.
func TestRecorderLateWriteAfterRelease(t *testing.T) {
	for try := 0; try < 100; try++ {
		a := newRecorder(nil, 1024)
		_, _ = a.Write([]byte("aaa"))
		pooled := a.bp
		a.release()
		b := newRecorder(nil, 1024)
		if b.bp != pooled {
			b.release()
			continue // the pool handed out another buffer (it drops some under -race)
		}
		_, _ = b.Write([]byte("bbbccc"))
		if n, err := a.Write([]byte("XXX")); n != 3 || err != nil {
			t.Fatalf("late write: %d %v", n, err)
		}
		if string(b.buf) != "bbbccc" {
			t.Fatalf("a late write reached another response's buffer: %q", b.buf)
		}
		b.release()
		return
	}
	t.Fatal("the pool never handed a released buffer to the next recorder")
}
