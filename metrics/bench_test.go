package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/metrics"
)

// BenchmarkRequest is the cost the observer adds to every request: 0 allocs/op once a route
// has been seen.
func BenchmarkRequest(b *testing.B) {
	m := metrics.New(prometheus.NewRegistry(), metrics.Options{})
	routes := []string{"/products/{id}", "/products", "/me", "/slow", "/clock", ""}
	evs := make([]core.Event, 0, len(routes)*2)
	for _, r := range routes {
		evs = append(evs,
			core.Event{Route: r, Result: core.ResultHit, Duration: 20 * time.Microsecond, Tier: "l1"},
			core.Event{Route: r, Result: core.ResultMiss, Duration: 3 * time.Millisecond, Origin: 3 * time.Millisecond})
	}
	for _, ev := range evs {
		m.Request(ev) // first sight of each route and result
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			m.Request(evs[i%len(evs)])
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				m.Request(evs[i%len(evs)])
				i++
			}
		})
	})
}

func BenchmarkStore(b *testing.B) {
	m := metrics.New(prometheus.NewRegistry(), metrics.Options{})
	m.Store("/products/{id}", "private", false)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m.Store("/products/{id}", "private", i%2 == 0)
	}
}

// BenchmarkHit compares a cache hit through the middleware with and without the observer.
func BenchmarkHit(b *testing.B) {
	for _, name := range []string{"no-observer", "prometheus"} {
		b.Run(name, func(b *testing.B) {
			cfg := core.Config{}
			if name == "prometheus" {
				cfg.Observer = metrics.New(prometheus.NewRegistry(), metrics.Options{})
			}
			c, err := core.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				_, _ = io.WriteString(w, "hello")
			}), core.HandlerOptions{Route: func(*http.Request) string { return "/hello" }})
			r := httptest.NewRequest(http.MethodGet, "/hello", nil)
			h.ServeHTTP(httptest.NewRecorder(), r)
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}
