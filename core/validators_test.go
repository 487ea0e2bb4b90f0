package core

import (
	"net/http"
	"testing"
	"time"
)

// RFC 9111 §4.3.2: a client's If-Modified-Since is evaluated against the stored response's
// Last-Modified, else its Date, else the time the cache received it. If-Unmodified-Since
// still needs a Last-Modified.
func TestIfModifiedSinceStored(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	now := clk.Now()
	date := now.Add(-time.Hour)
	at := func(t time.Time) string { return t.UTC().Format(http.TimeFormat) }
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=86400")
		switch r.URL.Path {
		case "/lm":
			w.Header().Set("Last-Modified", at(date.Add(-time.Hour)))
			w.Header().Set("Date", at(date))
		case "/date":
			w.Header().Set("Date", at(date))
		}
		_, _ = w.Write([]byte("x"))
	})
	h := c.Middleware(o)
	for _, p := range []string{"/lm", "/date", "/none"} {
		do(t, h, "GET", p)
	}
	clk.Advance(time.Minute)
	tests := []struct {
		path, hdr string
		want      int
	}{
		{"/lm", "If-Modified-Since: " + at(date.Add(-time.Hour)), 304},
		{"/lm", "If-Modified-Since: " + at(date.Add(-2*time.Hour)), 200},
		{"/date", "If-Modified-Since: " + at(date), 304},
		{"/date", "If-Modified-Since: " + at(date.Add(-time.Second)), 200},
		{"/none", "If-Modified-Since: " + at(now), 304}, // received at now
		{"/none", "If-Modified-Since: " + at(now.Add(-time.Second)), 200},
		{"/date", "If-Unmodified-Since: " + at(date.Add(-time.Hour)), 200}, // no Last-Modified: ignored
	}
	for _, tt := range tests {
		if w := do(t, h, "GET", tt.path, tt.hdr); w.Code != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.path, tt.hdr, w.Code, tt.want)
		}
	}
	wantRuns(t, o, 3)
}
