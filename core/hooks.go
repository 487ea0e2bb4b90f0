package core

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/strata-cache/strata/internal/ratelog"
)

// The application's hooks (Config.Skip, Config.KeySegments, an adapter's skip) run first, on
// the request's goroutine, once per request. A skipped GET or HEAD goes the way of an upgrade
// (bypass.go). Segments are encoded once, into the request's context, where every key built
// for the request reads them (primary, partsOf): the fast path, the full path, a route's
// re-keying, the fill, an unsafe request's invalidation and a detached refresh (whose request
// keeps the context's values) all key with the same segments, and the hook never runs off the
// request's goroutine, where a panic would take the process down.

// segmentsKey is the context key of a request's encoded key segments.
type segmentsKey struct{}

// hooks applies Config.Skip and Config.KeySegments to r. It returns the request the cache
// goes on with (r, or r with its key segments), or the reason r passes the cache by.
func (c *Cache) hooks(r *http.Request) (*http.Request, Reason) {
	if c.cfg.Skip != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) && c.skipped(c.cfg.Skip, r) {
		return r, ReasonSkip
	}
	if c.cfg.KeySegments == nil {
		return r, ""
	}
	segs, ok := c.keySegments(r)
	if !ok {
		return r, ReasonKeyHook
	}
	if len(segs) == 0 {
		return r, ""
	}
	return r.WithContext(context.WithValue(r.Context(), segmentsKey{}, string(appendSegments(nil, segs)))), ""
}

// segmentsOf returns the encoded key segments of r ("" for none).
func (c *Cache) segmentsOf(r *http.Request) string {
	if c.cfg.KeySegments == nil {
		return "" // no context lookup on the hit path of a cache without the hook
	}
	s, _ := r.Context().Value(segmentsKey{}).(string)
	return s
}

// appendSegments appends the key component of application segments: 'S', their count, then
// each length-prefixed, so the list is read back unambiguously (["a,b"] is "S1:3:a,b",
// ["a", "b"] is "S2:1:a1:b"). No segments append nothing: the key of a request without them
// is the key it has without the hook.
func appendSegments(dst []byte, segs []string) []byte {
	if len(segs) == 0 {
		return dst
	}
	dst = appendLen(append(dst, 'S'), len(segs))
	for _, s := range segs {
		dst = appendSeg(dst, s)
	}
	return dst
}

// skipped calls a skip hook; a panic is logged and skips.
func (c *Cache) skipped(skip func(*http.Request) bool, r *http.Request) (yes bool) {
	defer func() {
		if p := recover(); p != nil {
			c.hookPanic("skip", r, p)
			yes = true
		}
	}()
	return skip(r)
}

// keySegments calls Config.KeySegments; ok is false when it panicked (logged).
func (c *Cache) keySegments(r *http.Request) (segs []string, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			c.hookPanic("key-segments", r, p)
			segs, ok = nil, false
		}
	}()
	return c.cfg.KeySegments(r), true
}

// hookPanic logs a hook's panic, at most one line per second per hook (as store errors are),
// at error level: it is a bug in the application. http.ErrAbortHandler is a handler's way to
// abort the response, and goes on up.
func (c *Cache) hookPanic(hook string, r *http.Request, p any) {
	if p == http.ErrAbortHandler { //nolint:errorlint // net/http compares the sentinel itself
		panic(p)
	}
	s, _ := c.logs.Load("hook" + hook)
	if s == nil {
		s, _ = c.logs.LoadOrStore("hook"+hook, new(ratelog.Slot))
	}
	ok, n := s.(*ratelog.Slot).Allow(time.Now(), time.Second)
	if !ok {
		return
	}
	args := []any{"hook", hook, "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p)}
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	c.cfg.Logger.Error("strata: hook panicked; request passed the cache by", args...)
}
