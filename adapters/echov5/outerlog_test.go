package echocache_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"

	echocache "github.com/strata-cache/strata/adapters/echov5"
	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// failure is a route of the outer-logger comparison: a handler failing in echo's idiom.
type failure struct {
	path   string
	policy headers.Policy
	err    error // returned by the handler
	before func(c *echo.Context) error
}

var (
	errDown    = errors.New("database down")
	errBusy    = echo.NewHTTPError(http.StatusServiceUnavailable, "busy")
	errBadID   = echo.ErrBadRequest.Wrap(errors.New("bad id"))
	errLate    = errors.New("failed after answering")
	outerCases = []failure{
		{path: "/down", err: errDown},                             // a plain error: 500
		{path: "/busy", err: errBusy, policy: public},             // 503, never stored
		{path: "/login", err: echo.ErrUnauthorized},               // 401
		{path: "/bad", err: errBadID},                             // a wrapped 400
		{path: "/missing", err: echo.ErrNotFound, policy: public}, // 404, negatively cached
		{path: "/ok", policy: public},                             // 200, stored
		{path: "/late", err: errLate, before: func(c *echo.Context) error { return c.String(http.StatusOK, "partial") }},
	}
)

// seen is what a logger in front of the cache saw for one request, and what the client got.
type seen struct {
	status int   // the logger's status
	size   int64 // the logger's response size
	err    error // the error the logger got
	code   int   // the client's status
	body   string
	hit    bool // answered from the cache (no handler ran)
}

func (s seen) String() string {
	return fmt.Sprintf("logger status=%d size=%d err=%v | client %d %q hit=%v", s.status, s.size, s.err, s.code, s.body, s.hit)
}

// outerApp is the application, with a logger in front and the cache behind it when cache is
// not nil (without it, the same application without Strata).
func outerApp(cache *core.Cache, handleError bool, log func(seen)) *echo.Echo {
	e := quietEcho()
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus:       true,
		LogResponseSize: true,
		HandleError:     handleError,
		LogValuesFunc: func(c *echo.Context, v middleware.RequestLoggerValues) error {
			log(seen{status: v.Status, size: v.ResponseSize, err: v.Error})
			return nil
		},
	}), middleware.Recover())
	if cache != nil {
		e.Use(echocache.Middleware(cache))
	}
	for _, f := range outerCases {
		var mw []echo.MiddlewareFunc
		if !f.policy.IsZero() {
			mw = append(mw, echocache.Policy(f.policy))
		}
		e.Match([]string{http.MethodGet, http.MethodHead}, f.path, func(c *echo.Context) error {
			switch {
			case f.before != nil:
				if err := f.before(c); err != nil {
					return err
				}
			case f.err == nil:
				return c.String(http.StatusOK, "ok")
			}
			return f.err
		}, mw...)
	}
	return e
}

// TestOuterLogger compares what echo's RequestLogger in front of the cache sees, and what
// the client gets, with and without Strata, for handlers that return errors: with
// HandleError (echo v5's default RequestLogger: it answers the error itself and returns it)
// and without (echo answers the error at the top, after the logger). The logger gets the
// handler's very error and the same status; the client gets the same status and body,
// answered once. The one difference is a request answered from a stored entry: no handler
// ran, so there is no error to see (the status is the same). Without HandleError the
// logger also sees the response size of the error's answer, where without Strata nothing
// was written yet when it logged; and for HEAD the cache writes no body where echo counts
// the bytes a handler writes (the server drops them).
func TestOuterLogger(t *testing.T) {
	methods := []string{http.MethodGet, http.MethodGet, http.MethodHead}
	for _, handleError := range []bool{true, false} {
		t.Run(fmt.Sprintf("HandleError=%v", handleError), func(t *testing.T) {
			run := func(cache *core.Cache) map[string][]seen {
				var last seen
				e := outerApp(cache, handleError, func(s seen) { last = s })
				out := make(map[string][]seen)
				for _, f := range outerCases {
					for _, method := range methods {
						last = seen{}
						w := do(e, method, f.path)
						s := last
						s.code, s.body = w.Code, w.Body.String()
						s.hit = strings.Contains(w.Header().Get("Cache-Status"), "; hit")
						out[f.path] = append(out[f.path], s)
					}
				}
				return out
			}
			bare := run(nil)
			strata := run(newCache(t, core.Config{}))
			hits := 0
			for _, f := range outerCases {
				for i, method := range methods {
					b, s := bare[f.path][i], strata[f.path][i]
					t.Logf("%s %s #%d\n  without Strata: %v\n  with Strata:    %v", method, f.path, i+1, b, s)
					if b.err != f.err {
						t.Fatalf("%s #%d: without Strata the logger got %v, want %v (the test is wrong)", f.path, i+1, b.err, f.err)
					}
					want := b
					want.hit = s.hit
					if s.hit {
						hits++
						want.err = nil // no handler ran
					}
					if !handleError && b.err != nil {
						want.size = s.size // answered before the logger looked
					}
					if method == http.MethodHead {
						// The recorder keeps the body a handler writes for HEAD (a server
						// drops it) and echo counts it; the cache writes none.
						want.size, want.body = s.size, s.body
					}
					if s != want {
						t.Errorf("%s %s #%d: with Strata the logger and client saw\n  %v\nwant\n  %v", method, f.path, i+1, s, want)
					}
				}
			}
			// /missing and /ok: the second GET and the HEAD are hits.
			if hits != 4 {
				t.Errorf("%d hits, want 4", hits)
			}
		})
	}
}
