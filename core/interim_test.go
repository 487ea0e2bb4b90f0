package core

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"testing"
)

// interim is one 1xx answer a client saw.
type interim struct {
	code int
	h    textproto.MIMEHeader
}

// getWith1xx sends a GET to url and returns the 1xx answers seen before the final response.
func getWith1xx(t *testing.T, url string) ([]interim, *http.Response, string) {
	t.Helper()
	var mu sync.Mutex
	var got []interim
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		got = append(got, interim{code, h})
		mu.Unlock()
		return nil
	}}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	mu.Lock()
	defer mu.Unlock()
	return got, res, string(b)
}

// TestEarlyHintsCarryFields: a 103 the handler writes reaches the client with the fields the
// handler set before it (net/http sends a 1xx with the current header map), and those fields
// stay out of the final and the stored response unless the handler keeps them for it.
func TestEarlyHintsCarryFields(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		if r.URL.Path == "/keep" {
			w.Header().Set("Link", "</final.css>; rel=preload") // set again for the final answer
		} else {
			w.Header().Del("Link") // ReverseProxy clears the map after a 1xx, likewise
		}
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "final")
	})
	outer := func(next http.Handler) http.Handler { // an outer middleware's own field
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Outer", "1")
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(outer(c.Middleware(o)))
	defer srv.Close()

	for _, path := range []string{"/drop", "/keep"} {
		hints, res, b := getWith1xx(t, srv.URL+path)
		if len(hints) != 1 || hints[0].code != http.StatusEarlyHints {
			t.Fatalf("%s: 1xx answers %v, want one 103", path, hints)
		}
		if got := hints[0].h.Get("Link"); got != "</style.css>; rel=preload; as=style" {
			t.Fatalf("%s: 103 Link %q, want the handler's", path, got)
		}
		if got := hints[0].h.Get("X-Outer"); got != "1" {
			t.Fatalf("%s: 103 X-Outer %q, want the outer middleware's field too", path, got)
		}
		if res.StatusCode != 200 || b != "final" {
			t.Fatalf("%s: final %d %q", path, res.StatusCode, b)
		}
		wantLink := ""
		if path == "/keep" {
			wantLink = "</final.css>; rel=preload"
		}
		if got := res.Header.Values("Link"); (wantLink == "" && len(got) != 0) || (wantLink != "" && (len(got) != 1 || got[0] != wantLink)) {
			t.Fatalf("%s: final Link %q, want %q", path, got, wantLink)
		}
		// The stored response: a hit sends no 1xx and the final fields only.
		hints, res, b = getWith1xx(t, srv.URL+path)
		if len(hints) != 0 || b != "final" || res.Header.Get("Cache-Status") == "" {
			t.Fatalf("%s: hit: 1xx %v, body %q", path, hints, b)
		}
		if got := res.Header.Values("Link"); (wantLink == "" && len(got) != 0) || (wantLink != "" && (len(got) != 1 || got[0] != wantLink)) {
			t.Fatalf("%s: stored Link %q, want %q", path, got, wantLink)
		}
	}
	wantRuns(t, o, 2)
}
