package core

import (
	"net/http"
	"testing"
)

// TestNotModifiedFieldSet: every 304 the cache sends, from a stored entry or for an answer it
// does not store, follows the one field rule (etag.OmitOn304, RFC 9110 §15.4.5): metadata of
// the body goes, everything else (CORS, application fields, validators) stays.
func TestNotModifiedFieldSet(t *testing.T) {
	for _, cc := range []string{"max-age=60", "private"} {
		t.Run(cc, func(t *testing.T) {
			c, _ := newTestCache(t, Config{})
			h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", cc)
				w.Header().Set("Etag", `"v1"`)
				w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Language", "en")
				w.Header().Set("Access-Control-Allow-Origin", "*")
				w.Header().Set("X-Trace", "abc")
				_, _ = w.Write([]byte(`{"a":1}`))
			}))
			do(t, h, "GET", "/n")
			w := do(t, h, "GET", "/n", `If-None-Match: "v1"`)
			if w.Code != http.StatusNotModified {
				t.Fatalf("status %d, want 304", w.Code)
			}
			for _, k := range []string{"Cache-Control", "Etag", "Access-Control-Allow-Origin", "X-Trace", "Cache-Status"} {
				if w.Header().Get(k) == "" {
					t.Errorf("304 lacks %s: %v", k, w.Header())
				}
			}
			for _, k := range []string{"Content-Type", "Content-Language", "Content-Length", "Last-Modified"} {
				if v := w.Header().Get(k); v != "" {
					t.Errorf("304 carries %s: %q", k, v)
				}
			}
			if w.Body.Len() != 0 {
				t.Errorf("304 with a body: %q", w.Body.String())
			}
		})
	}
}
