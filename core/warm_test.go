package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// warmApp answers /items/{i}: i%10 == 3 private, i%10 == 7 a 500, i%20 == 5 without
// freshness, the rest public for a minute. It records the most requests in flight, and holds
// the first 8 until 8 are in flight at once, which proves the concurrency is reached.
type warmApp struct {
	inFlight, maxInFlight atomic.Int64
	arrived               atomic.Int64
	all8                  chan struct{}
	once                  sync.Once
	runs                  atomic.Int64
	t                     *testing.T
}

func newWarmApp(t *testing.T) *warmApp { return &warmApp{all8: make(chan struct{}), t: t} }

func (a *warmApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.runs.Add(1)
	n := a.inFlight.Add(1)
	defer a.inFlight.Add(-1)
	for {
		m := a.maxInFlight.Load()
		if n <= m || a.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if a.arrived.Add(1) <= 8 {
		if a.arrived.Load() >= 8 {
			a.once.Do(func() { close(a.all8) })
		}
		select {
		case <-a.all8:
		case <-time.After(10 * time.Second):
			a.t.Error("8 concurrent warm-up requests never were in flight together")
		}
	}
	i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/items/"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	switch {
	case i%10 == 3:
		w.Header().Set("Cache-Control", "private, max-age=60")
	case i%10 == 7:
		w.WriteHeader(http.StatusInternalServerError)
		return
	case i%20 == 5:
		// no freshness: not stored
	default:
		w.Header().Set("Cache-Control", "public, max-age=60")
	}
	_, _ = io.WriteString(w, "item "+strconv.Itoa(i))
}

func itemURLs(n int) []string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = "/items/" + strconv.Itoa(i)
	}
	return urls
}

func TestWarmThousand(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	app := newWarmApp(t)
	h := c.Middleware(app)
	urls := itemURLs(1000)

	var calls []int
	var last WarmSummary
	sum, err := c.Warm(context.Background(), h, slices.Values(urls), WarmOptions{
		Concurrency: 8,
		Progress: func(done int, s WarmSummary) {
			calls = append(calls, done) // serialized: no lock needed
			last = s
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := WarmSummary{Total: 1000, Stored: 750, NotStorable: 150, Failed: 100}
	if sum.Total != want.Total || sum.Stored != want.Stored || sum.Cached != want.Cached ||
		sum.NotStorable != want.NotStorable || sum.Failed != want.Failed {
		t.Fatalf("summary: got %v, want %v", sum, want)
	}
	if len(sum.Errors) != 10 {
		t.Fatalf("errors: got %d, want the first 10", len(sum.Errors))
	}
	for _, e := range sum.Errors {
		if !strings.Contains(e.Error(), "status 500") || !strings.Contains(e.Error(), "http://localhost/items/") {
			t.Fatalf("error %q", e)
		}
	}
	if got := app.maxInFlight.Load(); got != 8 {
		t.Fatalf("most requests in flight: got %d, want 8", got)
	}
	if len(calls) != 1000 || !slices.IsSorted(calls) || calls[0] != 1 || calls[999] != 1000 {
		t.Fatalf("progress calls: %d, first %v", len(calls), calls[:min(5, len(calls))])
	}
	if last.Total != 1000 || last.Stored != 750 {
		t.Fatalf("last progress summary %v", last)
	}
	if app.runs.Load() != 1000 {
		t.Fatalf("handler runs: got %d, want 1000", app.runs.Load())
	}

	// The stored URLs are now hits for clients on that host.
	wantCacheStatus(t, do(t, h, "GET", "http://localhost/items/1"), "strata; hit; ttl=60")

	// Again: what was stored is already cached; the rest goes to the handler again.
	app.arrived.Store(8)
	sum, err = c.Warm(context.Background(), h, slices.Values(urls), WarmOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Total != 1000 || sum.Stored != 0 || sum.Cached != 750 || sum.NotStorable != 150 || sum.Failed != 100 {
		t.Fatalf("second warm-up: %v", sum)
	}
	if got := app.runs.Load(); got != 1250 {
		t.Fatalf("handler runs after the second warm-up: got %d, want 1250", got)
	}
}

func TestWarmHostsAndFailures(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	o := newOrigin(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			panic("boom")
		case "/abort":
			panic(http.ErrAbortHandler)
		}
		publicHandler("max-age=60", r.Host+r.URL.Path)(w, r)
	})
	h := c.Middleware(o)
	urls := []string{
		"/a",                  // relative: Host from the options
		"b",                   // relative without a slash
		"http://other.test/c", // absolute: its own host
		"/a",                  // again: already cached
		"/panic",
		"/abort",
		"ftp://x/y",
		"http://[::1",
		"mailto:someone@example.com",
	}
	sum, err := c.Warm(context.Background(), h, slices.Values(urls), WarmOptions{Host: "api.test", Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Total != 9 || sum.Stored != 3 || sum.Cached != 1 || sum.NotStorable != 0 || sum.Failed != 5 || len(sum.Errors) != 5 {
		t.Fatalf("summary %v, errors %v", sum, sum.Errors)
	}
	if !strings.Contains(sum.Errors[0].Error(), "panicked: boom") || !strings.Contains(sum.Errors[1].Error(), "aborted") {
		t.Fatalf("errors %v", sum.Errors)
	}
	for _, target := range []string{"http://api.test/a", "http://api.test/b", "http://other.test/c"} {
		w := do(t, h, "GET", target)
		wantCacheStatus(t, w, "strata; hit; ttl=60")
	}
	wantCacheStatus(t, do(t, h, "GET", "http://localhost/a"), "strata; fwd=uri-miss; ttl=60; stored")

	// MaxErrors < 0 keeps no errors; Failed still counts.
	sum, _ = c.Warm(context.Background(), h, slices.Values([]string{"/panic", "/panic"}), WarmOptions{MaxErrors: -1})
	if sum.Failed != 2 || sum.Errors != nil {
		t.Fatalf("MaxErrors -1: %v %v", sum, sum.Errors)
	}
}

func TestWarmHeaderAndClassify(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	var seen atomic.Value
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Accept-Encoding"))
		w.Header().Set("Vary", "Accept-Encoding")
		publicHandler("max-age=60", "v")(w, r)
	}))
	sum, err := c.Warm(context.Background(), h, slices.Values([]string{"/v"}),
		WarmOptions{Header: http.Header{"Accept-Encoding": {"gzip"}}})
	if err != nil || sum.Stored != 1 {
		t.Fatalf("warm: %v %v", sum, err)
	}
	if seen.Load() != "gzip" {
		t.Fatalf("handler saw Accept-Encoding %q", seen.Load())
	}
	wantCacheStatus(t, do(t, h, "GET", "http://localhost/v", "Accept-Encoding: gzip"), "strata; hit; ttl=60")

	for _, tc := range []struct {
		values []string
		want   warmOutcome
	}{
		{[]string{"strata; fwd=uri-miss; ttl=60; stored"}, warmStored},
		{[]string{"strata; fwd=stale; fwd-status=304; ttl=60; stored"}, warmStored},
		{[]string{"strata; hit; ttl=3"}, warmCached},
		{[]string{"strata; hit; ttl=-3; detail=stale-while-revalidate"}, warmCached},
		{[]string{"strata; fwd=uri-miss; ttl=60; collapsed"}, warmCached},
		{[]string{"strata; fwd=uri-miss; fwd-status=200; detail=private"}, warmNotStorable},
		{[]string{"strata; fwd=method"}, warmNotStorable},
		{nil, warmNotStorable},
		{[]string{"OtherCache; hit, strata; fwd=uri-miss; detail=no-freshness"}, warmNotStorable},
		{[]string{"strata; fwd=uri-miss; stored, CDN; hit"}, warmStored},
		{[]string{"stratax; hit"}, warmNotStorable},
	} {
		if got := c.warmClassify(tc.values); got != tc.want {
			t.Errorf("%q: got %d, want %d", tc.values, got, tc.want)
		}
	}
}

func TestWarmCanceled(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	h := c.Middleware(newOrigin(publicHandler("max-age=60", "x")))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sum, err := c.Warm(ctx, h, slices.Values(itemURLs(1000)), WarmOptions{Concurrency: 2, Progress: func(done int, _ WarmSummary) {
		if done == 10 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error: got %v, want context.Canceled", err)
	}
	if sum.Total < 10 || sum.Total > 12 || sum.Stored != sum.Total {
		t.Fatalf("summary after cancel: %v", sum)
	}
}

func TestWarmFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warm.txt")
	const text = "# product pages\n/products/1\n\n  /products/2   # second\nhttp://127.0.0.1:8080/clock\n\t# indented comment\n/last"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	seq, err := WarmFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Collect(seq)
	want := []string{"/products/1", "/products/2", "http://127.0.0.1:8080/clock", "/last"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := WarmFile(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.HasPrefix(err.Error(), "core: warm file:") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestWarmSummaryString(t *testing.T) {
	s := WarmSummary{Total: 10, Stored: 6, Cached: 1, NotStorable: 2, Failed: 1}
	if got, want := s.String(), "10 URLs: 6 stored, 1 already cached, 2 not storable, 1 failed"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	_ = fmt.Sprint(s)
}
