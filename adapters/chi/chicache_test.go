package chicache_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	chicache "github.com/strata-cache/strata/adapters/chi"
	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
)

// A stale answer behind a writer that cannot flush is refreshed detached, and the refresh
// routes with a copy of chi's route context: while it runs, other requests take the router's
// pooled contexts (the one the stale request used among them) and fill them with their own
// parameters, and the refresh still sees its own, with the race detector watching.
func TestDetachedRefreshOwnsRouteContext(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cache, err := core.New(core.Config{Clock: clock, Jitter: -1, Beta: -1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cache.Close() }()

	release := make(chan struct{})
	var runs atomic.Int64
	var pattern atomic.Value
	r := chi.NewRouter()
	r.Use(chicache.Middleware(cache))
	r.With(chicache.Policy(headers.Public(time.Second).StaleWhileRevalidate(time.Minute))).
		Get("/s/{id}", func(w http.ResponseWriter, r *http.Request) {
			if runs.Add(1) == 2 {
				<-release // the refresh: hold it while other requests use the router
			}
			pattern.Store(chi.RouteContext(r.Context()).RoutePattern())
			_, _ = fmt.Fprintf(w, "%s-%d", chi.URLParam(r, "id"), runs.Load())
		})
	r.Get("/other/{name}/{n}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprint(w, chi.URLParam(r, "name"))
	})
	outer := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.ServeHTTP(struct{ http.ResponseWriter }{w}, req) // cannot flush
	})
	get := func(target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		outer.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		return w
	}

	get("/s/a")
	mu.Lock()
	now = now.Add(5 * time.Second)
	mu.Unlock()
	w := get("/s/a")
	if w.Body.String() != "a-1" || w.Header().Get("Cache-Status") != "strata; hit; ttl=-4; detail=stale-while-revalidate" {
		t.Fatalf("stale answer: %q %q", w.Body.String(), w.Header().Get("Cache-Status"))
	}
	for i := range 20 {
		if got := get(fmt.Sprintf("/other/x%d/%d", i, i)).Body.String(); got != fmt.Sprint("x", i) {
			t.Fatalf("other route: %q", got)
		}
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cache.WaitRefreshes(ctx); err != nil {
		t.Fatal(err)
	}
	if p := pattern.Load(); p != "/s/{id}" {
		t.Fatalf("the refresh routed as %q", p)
	}
	w = get("/s/a")
	if w.Body.String() != "a-2" || w.Header().Get("Cache-Status") != "strata; hit; ttl=1" {
		t.Fatalf("after the refresh: %q %q", w.Body.String(), w.Header().Get("Cache-Status"))
	}
}
