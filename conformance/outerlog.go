package conformance

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// Failure is one route of the outer-logger row ([RunOuterLogger]): a handler that fails in
// its framework's own idiom, or succeeds.
type Failure struct {
	// Path is the route's static path.
	Path string
	// Status is the status the failure stands for (200 for a success).
	Status int
	// Err is the text of the handler's error; "" for a success, which answers Status with
	// the body "ok".
	Err string
	// Policy is the route's cache policy; the zero Policy means none.
	Policy headers.Policy
	// Ran counts the handler's runs: the route's handler calls it first. [RunOuterLogger]
	// sets it.
	Ran func()
}

// Failures are the routes of the outer-logger row: a plain error (an internal error), an
// HTTP error that is never stored even under a public policy (503), 401, a 404 that is
// negatively cached (its route has a policy), and a stored success.
func Failures() []Failure {
	return []Failure{
		{Path: "/down", Status: http.StatusInternalServerError, Err: "database down"},
		{Path: "/busy", Status: http.StatusServiceUnavailable, Err: "busy", Policy: headers.Public(time.Minute)},
		{Path: "/login", Status: http.StatusUnauthorized, Err: "unauthorized"},
		{Path: "/missing", Status: http.StatusNotFound, Err: "no such item", Policy: headers.Public(time.Minute)},
		{Path: "/ok", Status: http.StatusOK, Policy: headers.Public(time.Minute)},
	}
}

// Seen is what a logging middleware in front of the cache saw for one request once the rest
// of the chain returned: the status, and the handler's error ("" for none; net/http and chi
// have no error value, only the status).
type Seen struct {
	Status int
	Err    string
}

// LogMount builds a framework's router with an outer logging middleware first, then the
// cache middleware when cache is not nil (without it, the same app without Strata), then a
// route per failure, answering in the framework's idiom: echo returns the error (an
// echo.NewHTTPError, or a plain error for a 500), gin attaches it with c.Error and aborts with
// the status, net/http answers the status. The logger calls log once per request, reading
// the error and status the way the framework's own request loggers do.
type LogMount func(t *testing.T, cache *core.Cache, failures []Failure, log func(Seen)) http.Handler

// RunOuterLogger is the outer-logger row: every failure is requested twice through the app
// without Strata and through the app with Strata, and what the logger in front saw, and what
// the client got, must be the same — except that a request the cache answered from a stored
// entry ran no handler, so there is no error to see (its status is the same).
func RunOuterLogger(t *testing.T, mount LogMount) {
	t.Helper()
	failures := Failures()
	type result struct {
		seen   Seen
		status int
		body   string
		cs     string
	}
	exercise := func(withCache bool) (map[string][2]result, map[string]int) {
		t.Helper()
		var cache *core.Cache
		if withCache {
			c, err := core.New(core.Config{Logger: slog.New(slog.DiscardHandler), Jitter: -1, Beta: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			cache = c
		}
		var mu sync.Mutex
		var seen []Seen
		runs := make(map[string]int)
		counted := make([]Failure, len(failures))
		for i, f := range failures {
			f.Ran = func() {
				mu.Lock()
				runs[f.Path]++
				mu.Unlock()
			}
			counted[i] = f
		}
		h := mount(t, cache, counted, func(s Seen) {
			mu.Lock()
			seen = append(seen, s)
			mu.Unlock()
		})
		out := make(map[string][2]result)
		for _, f := range failures {
			var pair [2]result
			for i := range pair {
				mu.Lock()
				seen = seen[:0]
				mu.Unlock()
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://"+Host+f.Path, nil))
				b, _ := io.ReadAll(w.Result().Body)
				mu.Lock()
				if len(seen) != 1 {
					t.Fatalf("%s (run with cache: %v): the logger logged %d times, want once: %+v", f.Path, withCache, len(seen), seen)
				}
				pair[i] = result{seen: seen[0], status: w.Code, body: string(b), cs: w.Header().Get("Cache-Status")}
				mu.Unlock()
			}
			out[f.Path] = pair
		}
		return out, runs
	}
	bare, bareRuns := exercise(false)
	cached, cachedRuns := exercise(true)
	for _, f := range failures {
		// What may be stored: the 404 (negative caching) and the public 200.
		stored := f.Status == http.StatusNotFound || f.Status == http.StatusOK
		wantRuns := 2
		if stored {
			wantRuns = 1
		}
		if bareRuns[f.Path] != 2 || cachedRuns[f.Path] != wantRuns {
			t.Errorf("GET %s: the handler ran %d times without Strata and %d with, want 2 and %d", f.Path, bareRuns[f.Path], cachedRuns[f.Path], wantRuns)
		}
		for i := range 2 {
			b, c := bare[f.Path][i], cached[f.Path][i]
			label := fmt.Sprintf("GET %s, request %d", f.Path, i+1)
			if b.seen.Status != f.Status || b.status != f.Status {
				t.Fatalf("%s without Strata: the mount answered %d and logged %+v, want status %d", label, b.status, b.seen, f.Status)
			}
			if c.status != b.status || c.body != b.body {
				t.Errorf("%s: the client got %d %q with Strata, %d %q without", label, c.status, c.body, b.status, b.body)
			}
			hit := strings.Contains(c.cs, "; hit")
			want := b.seen
			if hit {
				want.Err = "" // answered from the cache: no handler ran
			}
			if c.seen != want {
				t.Errorf("%s: the logger saw %+v with Strata, want %+v (without Strata: %+v; Cache-Status %q)", label, c.seen, want, b.seen, c.cs)
			}
			if c.cs == "" {
				t.Errorf("%s: no Cache-Status: the request did not go through the cache", label)
			}
			if i == 1 && hit != stored {
				t.Errorf("%s: Cache-Status %q: want a hit %v", label, c.cs, stored)
			}
		}
	}
}

// Handler answers the failure in net/http's idiom, for routers whose handlers are
// http.Handlers (net/http, chi): http.Error with the status, or "ok".
func (f Failure) Handler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if f.Ran != nil {
			f.Ran()
		}
		if f.Err != "" {
			http.Error(w, f.Err, f.Status)
			return
		}
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, "ok")
	}
}

// StatusLogger is an outer logging middleware for net/http-style routers: it logs the
// status next wrote (200 when it wrote nothing). net/http has no error value to log.
func StatusLogger(next http.Handler, log func(Seen)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		log(Seen{Status: sw.status})
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
