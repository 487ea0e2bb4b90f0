package conformance

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/strata-cache/strata/core"
)

// Helpers that build origin handlers and actions for scenarios. Every call returns a fresh
// handler with state of its own.

// setFields adds "Name: value" pairs to h.
func setFields(h http.Header, fields []string) {
	for _, kv := range fields {
		k, v, _ := strings.Cut(kv, ":")
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
}

// respond answers status with the fields and body.
func respond(status int, body string, fields ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		setFields(w.Header(), fields)
		w.WriteHeader(status)
		if body != "" { // an empty body: the handler only sets the status
			_, _ = io.WriteString(w, body)
		}
	}
}

// versioned answers 200 "v<n>", n being the handler's run, with the fields, so a test can
// tell which run a response came from.
func versioned(fields ...string) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		setFields(w.Header(), fields)
		_, _ = io.WriteString(w, "v"+strconv.FormatInt(n.Add(1), 10))
	}
}

// failOn answers like versioned, except that on the listed runs it answers 500 "down".
func failOn(runs []int, fields ...string) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		k := int(n.Add(1))
		for _, f := range runs {
			if f == k {
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = io.WriteString(w, "down")
				return
			}
		}
		setFields(w.Header(), fields)
		_, _ = io.WriteString(w, "v"+strconv.Itoa(k))
	}
}

// panicOn answers like versioned, except that on the listed runs it writes "partial" and
// panics (after sleeping d, so concurrent requests can queue behind it).
func panicOn(runs []int, d time.Duration, fields ...string) http.HandlerFunc {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		k := int(n.Add(1))
		setFields(w.Header(), fields)
		time.Sleep(d)
		for _, f := range runs {
			if f == k {
				_, _ = io.WriteString(w, "partial")
				panic(fmt.Sprintf("conformance: origin panics on run %d", k))
			}
		}
		_, _ = io.WriteString(w, "v"+strconv.Itoa(k))
	}
}

// slow answers like versioned after sleeping d.
func slow(d time.Duration, fields ...string) http.HandlerFunc {
	v := versioned(fields...)
	return func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		v(w, r)
	}
}

// echoHeader answers 200 "<name>=<value of the request field name>" with the fields.
func echoHeader(name string, fields ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		setFields(w.Header(), fields)
		_, _ = io.WriteString(w, strings.ToLower(name)+"="+r.Header.Get(name))
	}
}

// streaming writes chunks, flushing after each, with the fields.
func streaming(status int, chunks []string, fields ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		setFields(w.Header(), fields)
		w.WriteHeader(status)
		rc := http.NewResponseController(w)
		for _, c := range chunks {
			_, _ = io.WriteString(w, c)
			if err := rc.Flush(); err != nil {
				panic(fmt.Sprintf("conformance: flush through the cache: %v", err))
			}
		}
		if len(chunks) == 0 {
			if err := rc.Flush(); err != nil {
				panic(fmt.Sprintf("conformance: flush through the cache: %v", err))
			}
		}
	}
}

// httpDate renders Epoch + d as an HTTP date.
func httpDate(d time.Duration) string { return Epoch.Add(d).Format(http.TimeFormat) }

// purgeURL purges http://Host + path and wants n entries removed.
func purgeURL(path string, n int) func(context.Context, *core.Cache) error {
	return func(ctx context.Context, c *core.Cache) error {
		got, err := c.Purge(ctx, "http://"+Host+path)
		if err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("Purge(%s): removed %d entries, want %d", path, got, n)
		}
		return nil
	}
}

// purgeTags purges tags and wants n entries removed.
func purgeTags(n int, tags ...string) func(context.Context, *core.Cache) error {
	return func(ctx context.Context, c *core.Cache) error {
		got, err := c.PurgeTags(ctx, tags...)
		if err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("PurgeTags(%q): removed %d entries, want %d", tags, got, n)
		}
		return nil
	}
}

func purgeAll(ctx context.Context, c *core.Cache) error { return c.PurgeAll(ctx) }

// Cache-Status checks used throughout.
const (
	missStored60 = "strata; fwd=uri-miss; ttl=60; stored"
	hit60        = "strata; hit; ttl=60"
)

// notStored checks a response that went to the origin and was not stored, for reason.
func notStored(reason string) []Check {
	return []Check{
		HeaderContains("Cache-Status", "strata; fwd="),
		HeaderContains("Cache-Status", "detail="+reason),
		HeaderNotContains("Cache-Status", "stored"),
		HeaderNotContains("Cache-Status", "; hit"),
	}
}

// refetched checks a response the origin answered and the cache stored again, after the old
// entry expired. Whether Cache-Status says uri-miss or stale depends on whether a tier
// still held the expired entry (Redis expires in real time, the scenario's clock is
// injected), so only the outcome is checked.
func refetched() []Check {
	return []Check{
		HeaderContains("Cache-Status", "stored"),
		HeaderNotContains("Cache-Status", "; hit"),
	}
}

func with(cs []Check, more ...Check) []Check {
	return append(append([]Check(nil), cs...), more...)
}
