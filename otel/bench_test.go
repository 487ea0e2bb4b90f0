package strataotel_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/strata-cache/strata/core"
	strataotel "github.com/strata-cache/strata/otel"
)

// benchObserver is an observer on the SDK's providers, with an in-memory reader and no span
// processor (spans are sampled and recorded, then dropped): as in production minus the
// export.
func benchObserver(b *testing.B, mode strataotel.Mode) (*strataotel.Observer, *sdktrace.TracerProvider) {
	b.Helper()
	tp := sdktrace.NewTracerProvider()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	o, err := strataotel.New(strataotel.Options{TracerProvider: tp, MeterProvider: mp, Mode: mode})
	if err != nil {
		b.Fatal(err)
	}
	return o, tp
}

func benchEvents(ctx context.Context) []core.Event {
	routes := []string{"/products/{id}", "/products", "/me", "/slow", "/clock", ""}
	evs := make([]core.Event, 0, len(routes)*2)
	for _, r := range routes {
		evs = append(evs,
			core.Event{Route: r, Result: core.ResultHit, Duration: 20 * time.Microsecond, Tier: "l1", Status: 200,
				Context: ctx, KeyHash: 0x182dbb194718a75b},
			core.Event{Route: r, Result: core.ResultMiss, Stored: true, Duration: 3 * time.Millisecond, Origin: 3 * time.Millisecond,
				Status: 200, Context: ctx, KeyHash: 0x182dbb194718a75b})
	}
	return evs
}

// BenchmarkRequest is the cost the observer adds to a request without a recording span:
// the metrics only, once a route has been seen.
func BenchmarkRequest(b *testing.B) {
	o, _ := benchObserver(b, strataotel.ModeEvents)
	evs := benchEvents(context.Background())
	for _, ev := range evs {
		o.Request(ev) // first sight of each route and result
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			o.Request(evs[i%len(evs)])
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				o.Request(evs[i%len(evs)])
				i++
			}
		})
	})
}

// BenchmarkTraced is a request under a sampled span: "span-only" starts and ends the span
// without the observer, the baseline; "events" and "spans" add the observer in ModeEvents
// (a span event) and ModeSpans (a child span). The observer's cost is the difference.
func BenchmarkTraced(b *testing.B) {
	for _, c := range []struct {
		name string
		mode strataotel.Mode
	}{{"span-only", strataotel.ModeOff}, {"events", strataotel.ModeEvents}, {"spans", strataotel.ModeSpans}} {
		b.Run(c.name, func(b *testing.B) {
			o, tp := benchObserver(b, c.mode)
			tracer := tp.Tracer("bench")
			evs := benchEvents(context.Background())
			for _, ev := range evs {
				o.Request(ev)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				ctx, span := tracer.Start(context.Background(), "request")
				if c.mode != strataotel.ModeOff {
					ev := evs[i%len(evs)]
					ev.Context = ctx
					o.Request(ev)
				}
				span.End()
			}
		})
	}
}

func BenchmarkStore(b *testing.B) {
	o, _ := benchObserver(b, strataotel.ModeEvents)
	o.Store("/products/{id}", "private", false)
	o.Store("/products/{id}", "", true)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		o.Store("/products/{id}", "private", i%2 == 0)
	}
}

// BenchmarkHit compares a cache hit through the middleware with and without the observer
// (no span on the request).
func BenchmarkHit(b *testing.B) {
	for _, name := range []string{"no-observer", "otel"} {
		b.Run(name, func(b *testing.B) {
			cfg := core.Config{}
			if name == "otel" {
				cfg.Observer, _ = benchObserver(b, strataotel.ModeEvents)
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
