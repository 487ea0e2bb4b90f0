package etag

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// do runs one request through h; kv are request header name, value pairs.
func do(h http.Handler, method string, kv ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/page", nil)
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Add(kv[i], kv[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// page is a handler answering body with some cache-relevant header fields.
func page(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "private, no-cache")
		h.Set("Content-Location", "/page.html")
		h.Set("Expires", "Thu, 01 Jan 2099 00:00:00 GMT")
		h.Set("Vary", "Accept-Language")
		h.Set("Content-Language", "en")
		h.Set("X-Request-Id", "42")
		_, _ = io.WriteString(w, body)
	})
}

func checkCode(t *testing.T, w *httptest.ResponseRecorder, code int, body string) {
	t.Helper()
	if w.Code != code || w.Body.String() != body {
		t.Fatalf("got %d %q, want %d %q", w.Code, w.Body.String(), code, body)
	}
}

func TestMiddlewareGeneratesETag(t *testing.T) {
	body := "<h1>Hello</h1>"
	h := Middleware(page(body))

	w := do(h, "GET")
	checkCode(t, w, 200, body)
	checkHeader(t, w.Header(), "ETag", Strong([]byte(body)))
	checkHeader(t, w.Header(), "Content-Length", strconv.Itoa(len(body)))
	checkHeader(t, w.Header(), "Content-Type", "text/html; charset=utf-8")

	t.Run("304", func(t *testing.T) {
		w := do(h, "GET", "If-None-Match", `"other", `+Strong([]byte(body)))
		checkCode(t, w, 304, "")
		checkHeader(t, w.Header(), "ETag", Strong([]byte(body)))
		for _, k := range []string{"Cache-Control", "Content-Location", "Expires", "Vary", "X-Request-Id"} {
			if w.Header().Get(k) == "" {
				t.Errorf("304 lost %s", k)
			}
		}
		for _, k := range []string{"Content-Type", "Content-Length", "Content-Language"} {
			checkHeader(t, w.Header(), k, "")
		}
	})
	t.Run("no match", func(t *testing.T) {
		w := do(h, "GET", "If-None-Match", `"other"`)
		checkCode(t, w, 200, body)
		checkHeader(t, w.Header(), "ETag", Strong([]byte(body)))
	})
	t.Run("weak request tag", func(t *testing.T) {
		w := do(h, "GET", "If-None-Match", "W/"+Strong([]byte(body)))
		checkCode(t, w, 304, "")
	})
	t.Run("If-Match fails", func(t *testing.T) {
		w := do(h, "GET", "If-Match", `"other"`)
		checkCode(t, w, 412, "")
	})
	t.Run("If-Match holds", func(t *testing.T) {
		w := do(h, "GET", "If-Match", Strong([]byte(body)))
		checkCode(t, w, 200, body)
	})
}

func TestMiddlewareWeak(t *testing.T) {
	body := "weakly"
	h := MiddlewareWithOptions(Options{Weak: true})(page(body))
	w := do(h, "GET")
	checkCode(t, w, 200, body)
	checkHeader(t, w.Header(), "ETag", Weak([]byte(body)))
	w = do(h, "GET", "If-None-Match", Strong([]byte(body)))
	checkCode(t, w, 304, "")
	w = do(h, "GET", "If-Match", Weak([]byte(body))) // strong comparison never matches a weak tag
	checkCode(t, w, 412, "")
}

func TestMiddlewareLastModified(t *testing.T) {
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", lmDate)
		_, _ = io.WriteString(w, "dated")
	}))
	w := do(h, "GET", "If-Modified-Since", lmDate)
	checkCode(t, w, 304, "")
	checkHeader(t, w.Header(), "ETag", Strong([]byte("dated")))
	checkHeader(t, w.Header(), "Last-Modified", "") // ETag present (§15.4.5)

	w = do(h, "GET", "If-Modified-Since", before)
	checkCode(t, w, 200, "dated")

	// If-None-Match that does not match overrides If-Modified-Since.
	w = do(h, "GET", "If-None-Match", `"x"`, "If-Modified-Since", lmDate)
	checkCode(t, w, 200, "dated")
}

func TestMiddlewareEmptyBodies(t *testing.T) {
	t.Run("implicit", func(t *testing.T) {
		w := do(Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})), "GET")
		checkCode(t, w, 200, "")
		checkHeader(t, w.Header(), "ETag", Strong(nil))
		checkHeader(t, w.Header(), "Content-Length", "0")
	})
	t.Run("HEAD without body", func(t *testing.T) {
		h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(200)
		}))
		w := do(h, "HEAD")
		checkCode(t, w, 200, "")
		checkHeader(t, w.Header(), "ETag", "")
		checkHeader(t, w.Header(), "Content-Length", "100")
	})
}

func TestMiddlewareHEAD(t *testing.T) {
	body := strings.Repeat("representation ", 100)
	srv := httptest.NewServer(Middleware(page(body)))
	defer srv.Close()

	get, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, get.Body)
	_ = get.Body.Close()

	head, err := http.Head(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, head.Body)
	_ = head.Body.Close()
	if head.StatusCode != 200 || n != 0 {
		t.Fatalf("HEAD got %d with %d body bytes", head.StatusCode, n)
	}
	if e := head.Header.Get("ETag"); e == "" || e != get.Header.Get("ETag") {
		t.Fatalf("HEAD ETag %q, GET ETag %q: want equal and set", e, get.Header.Get("ETag"))
	}
	if head.ContentLength != int64(len(body)) {
		t.Fatalf("HEAD Content-Length %d, want %d", head.ContentLength, len(body))
	}

	req, _ := http.NewRequest("HEAD", srv.URL, nil)
	req.Header.Set("If-None-Match", get.Header.Get("ETag"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 304 || res.Header.Get("Date") == "" {
		t.Fatalf("conditional HEAD got %d (Date %q), want 304 with a Date", res.StatusCode, res.Header.Get("Date"))
	}
}

func TestMiddlewareOverLimitStreams(t *testing.T) {
	chunks := []string{"0123456789", "abcdefghij", "ABCDEFGHIJ"}
	h := MiddlewareWithOptions(Options{MaxBody: 15})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for _, c := range chunks {
			_, _ = w.Write([]byte(c))
		}
	}))
	w := do(h, "GET", "If-None-Match", "*")
	checkCode(t, w, 200, strings.Join(chunks, ""))
	checkHeader(t, w.Header(), "ETag", "")
	checkHeader(t, w.Header(), "Content-Length", "")
	checkHeader(t, w.Header(), "Content-Type", "text/plain")

	t.Run("exactly at the limit is buffered", func(t *testing.T) {
		h := MiddlewareWithOptions(Options{MaxBody: 20})(page(chunks[0] + chunks[1]))
		w := do(h, "GET")
		checkHeader(t, w.Header(), "ETag", Strong([]byte(chunks[0]+chunks[1])))
	})
	t.Run("declared length over the limit", func(t *testing.T) {
		h := MiddlewareWithOptions(Options{MaxBody: 5})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "0123456789")
		}))
		w := do(h, "GET")
		checkCode(t, w, 200, "0123456789")
		checkHeader(t, w.Header(), "ETag", "")
		checkHeader(t, w.Header(), "Content-Length", "10")
	})
	t.Run("streamed with Last-Modified still evaluated", func(t *testing.T) {
		h := MiddlewareWithOptions(Options{MaxBody: 5})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Last-Modified", lmDate)
			_, _ = io.WriteString(w, "0123456789")
		}))
		checkCode(t, do(h, "GET", "If-Modified-Since", lmDate), 304, "")
		checkCode(t, do(h, "GET", "If-Modified-Since", before), 200, "0123456789")
	})
	t.Run("generation off", func(t *testing.T) {
		w := do(MiddlewareWithOptions(Options{MaxBody: -1})(page("x")), "GET")
		checkCode(t, w, 200, "x")
		checkHeader(t, w.Header(), "ETag", "")
	})
}

func TestMiddlewareFlushStreams(t *testing.T) {
	for _, how := range []string{"Flusher", "ResponseController"} {
		t.Run(how, func(t *testing.T) {
			read := make(chan struct{})
			srv := httptest.NewServer(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "first\n")
				if how == "Flusher" {
					w.(http.Flusher).Flush()
				} else if err := http.NewResponseController(w).Flush(); err != nil {
					t.Errorf("Flush: %v", err)
				}
				select { // the client must see "first" before the handler goes on
				case <-read:
				case <-time.After(5 * time.Second):
					t.Error("first line not received after Flush")
				}
				_, _ = io.WriteString(w, "second\n")
			})))
			defer srv.Close()

			res, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = res.Body.Close() }()
			br := bufio.NewReader(res.Body)
			line, err := br.ReadString('\n')
			if err != nil || line != "first\n" {
				t.Fatalf("first line %q, %v", line, err)
			}
			close(read)
			rest, _ := io.ReadAll(br)
			if string(rest) != "second\n" {
				t.Fatalf("rest %q, want %q", rest, "second\n")
			}
			if e := res.Header.Get("ETag"); e != "" {
				t.Fatalf("streamed response has ETag %q", e)
			}
		})
	}
}

func TestMiddlewareHandlerETag(t *testing.T) {
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"mine"`)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "handler body")
	}))
	w := do(h, "GET")
	checkCode(t, w, 200, "handler body")
	checkHeader(t, w.Header(), "ETag", `"mine"`)
	checkHeader(t, w.Header(), "Content-Length", "") // not buffered

	w = do(h, "GET", "If-None-Match", `"mine"`)
	checkCode(t, w, 304, "")
	checkHeader(t, w.Header(), "ETag", `"mine"`)
	checkHeader(t, w.Header(), "Content-Type", "")

	w = do(h, "HEAD", "If-None-Match", `W/"mine"`)
	checkCode(t, w, 304, "")

	w = do(h, "GET", "If-Match", `"theirs"`)
	checkCode(t, w, 412, "")
}

func TestMiddlewarePassThrough(t *testing.T) {
	tests := []struct {
		name   string
		method string
		h      http.HandlerFunc
		code   int
		body   string
	}{
		{"POST", "POST", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "created") }, 200, "created"},
		{"404", "GET", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", 404) }, 404, "nope\n"},
		{"handler 304", "GET", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(304) }, 304, ""},
		{"201", "GET", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201); _, _ = io.WriteString(w, "x") }, 201, "x"},
		{"206", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 0-1/10")
			w.WriteHeader(206)
			_, _ = io.WriteString(w, "ab")
		}, 206, "ab"},
		{"200 with Content-Range", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", "bytes 0-1/2")
			_, _ = io.WriteString(w, "ab")
		}, 200, "ab"},
		{"gzip", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = io.WriteString(w, "\x1f\x8b...")
		}, 200, "\x1f\x8b..."},
		{"trailers", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Sum")
			_, _ = io.WriteString(w, "body")
			w.Header().Set("X-Sum", "1")
		}, 200, "body"},
		{"length mismatch", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "short")
		}, 200, "short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(Middleware(tt.h), tt.method, "If-None-Match", "*")
			checkCode(t, w, tt.code, tt.body)
			checkHeader(t, w.Header(), "ETag", "")
		})
	}
	t.Run("identity encoding is not an encoding", func(t *testing.T) {
		w := do(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "identity")
			_, _ = io.WriteString(w, "plain")
		})), "GET")
		checkHeader(t, w.Header(), "ETag", Strong([]byte("plain")))
	})
}

func TestMiddlewareHeaderSnapshot(t *testing.T) {
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Before", "1")
		w.WriteHeader(200)
		w.Header().Set("X-After", "1")        // ignored, as net/http ignores it
		w.Header().Set("X-Before", "changed") // ignored too
		w.Header().Set("ETag", `"late"`)      // too late to count
		w.Header().Set(http.TrailerPrefix+"X-T", "kept")
		_, _ = io.WriteString(w, "snap")
	}))
	w := do(h, "GET")
	checkCode(t, w, 200, "snap")
	checkHeader(t, w.Header(), "X-Before", "1")
	checkHeader(t, w.Header(), "X-After", "")
	checkHeader(t, w.Header(), "ETag", Strong([]byte("snap")))
	checkHeader(t, w.Header(), http.TrailerPrefix+"X-T", "kept")
	checkHeader(t, w.Header(), "Content-Length", "") // a length would drop the trailer
}

func TestMiddlewareWriteVariants(t *testing.T) {
	want := "abcdefghij"
	for name, f := range map[string]func(w http.ResponseWriter){
		"Write":       func(w http.ResponseWriter) { _, _ = w.Write([]byte(want)) },
		"WriteString": func(w http.ResponseWriter) { _, _ = io.WriteString(w, want[:3]); _, _ = io.WriteString(w, want[3:]) },
		"ReadFrom":    func(w http.ResponseWriter) { _, _ = io.Copy(w, strings.NewReader(want)) },
		"Fprintf":     func(w http.ResponseWriter) { _, _ = fmt.Fprintf(w, "%s", want) },
	} {
		t.Run(name, func(t *testing.T) {
			for _, max := range []int{0, 4} {
				w := do(MiddlewareWithOptions(Options{MaxBody: max})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f(w) })), "GET")
				checkCode(t, w, 200, want)
				wantTag := Strong([]byte(want))
				if max == 4 {
					wantTag = ""
				}
				checkHeader(t, w.Header(), "ETag", wantTag)
			}
		})
	}
}

func TestMiddlewarePanic(t *testing.T) {
	recoverer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					http.Error(w, "recovered", 500)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
	h := recoverer(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<p>half a page")
		panic("boom")
	})))
	w := do(h, "GET")
	checkCode(t, w, 500, "recovered\n")
	checkHeader(t, w.Header(), "ETag", "")

	// Without a recoverer the panic reaches the caller.
	defer func() {
		if v := recover(); v != "boom" {
			t.Fatalf("recovered %v, want the handler's panic", v)
		}
	}()
	do(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "x")
		panic("boom")
	})), "GET")
}

func TestMiddlewareHijack(t *testing.T) {
	srv := httptest.NewServer(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nraw")
		_ = brw.Flush()
	})))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if string(b) != "raw" || res.Header.Get("ETag") != "" {
		t.Fatalf("got %q (ETag %q), want the hijacker's raw answer", b, res.Header.Get("ETag"))
	}
}

func TestMiddlewareHijackAfterWrite(t *testing.T) {
	srv := httptest.NewServer(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "8")
		_, _ = io.WriteString(w, "buf")
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer func() { _ = conn.Close() }()
		_, _ = brw.WriteString("fered")
		_ = brw.Flush()
	})))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if string(b) != "buffered" || res.Header.Get("ETag") != "" {
		t.Fatalf("got %q, want the buffered bytes then the hijacker's", b)
	}
}

func TestMiddlewareResponseControllerUnwrap(t *testing.T) {
	srv := httptest.NewServer(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through Unwrap: %v", err)
		}
		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("EnableFullDuplex through Unwrap: %v", err)
		}
		_, _ = io.WriteString(w, "ok")
	})))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.Header.Get("ETag") != Strong([]byte("ok")) {
		t.Fatalf("ETag %q, want %q", res.Header.Get("ETag"), Strong([]byte("ok")))
	}
}

// TestMiddlewareConcurrent checks, under -race, that pooled buffers never
// mix bodies of concurrent responses.
func TestMiddlewareConcurrent(t *testing.T) {
	srv := httptest.NewServer(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		chunk := []byte(strings.Repeat(id+";", 1024/(len(id)+1)))
		for range n {
			_, _ = w.Write(chunk)
		}
	})))
	defer srv.Close()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				// 1 to 96 KiB: pooled, grown and unpooled buffers.
				id := fmt.Sprintf("%d.%d", g, i)
				res, err := http.Get(fmt.Sprintf("%s/?id=%s&n=%d", srv.URL, id, 1+i*5))
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(res.Body)
				_ = res.Body.Close()
				if got, want := res.Header.Get("ETag"), Strong(b); got != want {
					t.Errorf("ETag %q for a body hashing to %q", got, want)
				}
				if want := strings.Repeat(id+";", len(b)/(len(id)+1)); string(b) != want {
					t.Errorf("body of %s mixed with another: %.40q…", id, b)
				}
			}
		})
	}
	wg.Wait()
}

func TestMiddlewareEdges(t *testing.T) {
	t.Run("superfluous WriteHeader while buffering", func(t *testing.T) {
		w := do(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			w.WriteHeader(500)
			_, _ = io.WriteString(w, "once")
		})), "GET")
		checkCode(t, w, 200, "once")
		checkHeader(t, w.Header(), "ETag", Strong([]byte("once")))
	})
	t.Run("superfluous WriteHeader while passing", func(t *testing.T) {
		w := do(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(404)
			w.WriteHeader(200)
		})), "GET")
		checkCode(t, w, 404, "")
	})
	t.Run("invalid Content-Length", func(t *testing.T) {
		w := do(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "ten")
			_, _ = io.WriteString(w, "x")
		})), "GET")
		checkHeader(t, w.Header(), "ETag", "")
	})
	t.Run("large declared length", func(t *testing.T) {
		body := strings.Repeat("z", 100_000)
		w := do(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write([]byte(body[:50_000]))
			_, _ = w.Write([]byte(body[50_000:]))
		})), "GET")
		checkCode(t, w, 200, body)
		checkHeader(t, w.Header(), "ETag", Strong([]byte(body)))
	})
	t.Run("handler ETag 304 discards Write and ReadFrom", func(t *testing.T) {
		w := do(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"mine"`)
			_, _ = w.Write([]byte("dropped"))
			_, _ = io.Copy(w, struct{ io.Reader }{strings.NewReader("dropped")})
			w.(http.Flusher).Flush()
		})), "GET", "If-None-Match", `"mine"`)
		checkCode(t, w, 304, "")
	})
	t.Run("ReadFrom passing", func(t *testing.T) {
		w := do(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"mine"`)
			n, err := w.(io.ReaderFrom).ReadFrom(strings.NewReader("direct"))
			if n != 6 || err != nil {
				t.Errorf("ReadFrom = %d, %v", n, err)
			}
		})), "GET")
		checkCode(t, w, 200, "direct")
	})
	t.Run("ReadFrom buffering", func(t *testing.T) {
		w := do(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.(io.ReaderFrom).ReadFrom(strings.NewReader("buffered"))
		})), "GET")
		checkCode(t, w, 200, "buffered")
		checkHeader(t, w.Header(), "ETag", Strong([]byte("buffered")))
	})
	t.Run("Flush before writing", func(t *testing.T) {
		w := do(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
			_, _ = io.WriteString(w, "data: 1\n\n")
		})), "GET")
		checkCode(t, w, 200, "data: 1\n\n")
		checkHeader(t, w.Header(), "ETag", "")
		if !w.Flushed {
			t.Error("not flushed")
		}
	})
	t.Run("Flush unsupported", func(t *testing.T) {
		h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := http.NewResponseController(w).Flush(); err == nil {
				t.Error("Flush on a writer without Flush succeeded")
			}
		}))
		h.ServeHTTP(&discardWriter{h: http.Header{}}, httptest.NewRequest("GET", "/", nil))
	})
	t.Run("Hijack unsupported", func(t *testing.T) {
		h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, _, err := http.NewResponseController(w).Hijack(); err == nil {
				t.Error("Hijack on a recorder succeeded")
			}
			_, _ = io.WriteString(w, "still served")
		}))
		w := do(h, "GET")
		checkCode(t, w, 200, "still served")
		checkHeader(t, w.Header(), "ETag", Strong([]byte("still served")))
	})
}

func TestMiddlewareEarlyHints(t *testing.T) {
	srv := httptest.NewServer(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = io.WriteString(w, "page")
	})))
	defer srv.Close()
	var hints int
	ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			if code == http.StatusEarlyHints {
				hints++
			}
			return nil
		},
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if hints != 1 || res.StatusCode != 200 || string(b) != "page" || res.Header.Get("ETag") != Strong(b) {
		t.Fatalf("hints %d, final %d %q ETag %q", hints, res.StatusCode, b, res.Header.Get("ETag"))
	}
}

func TestMiddlewareLastModifiedOnly(t *testing.T) {
	// An encoded body gets no generated ETag; its Last-Modified still counts,
	// and "*" matches because a 200 proves the representation exists.
	h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "br")
		w.Header().Set("Last-Modified", lmDate)
		_, _ = io.WriteString(w, "compressed")
	}))
	checkCode(t, do(h, "GET", "If-Match", "*"), 200, "compressed")
	checkCode(t, do(h, "GET", "If-Match", `"x"`), 412, "")
	checkCode(t, do(h, "GET", "If-None-Match", "*"), 304, "")
	checkCode(t, do(h, "GET", "If-Modified-Since", lmDate), 304, "")
	checkCode(t, do(h, "GET", "If-Modified-Since", before), 200, "compressed")
	w := do(h, "GET", "If-Unmodified-Since", before)
	checkCode(t, w, 412, "")
	checkHeader(t, w.Header(), "Content-Encoding", "")
}
