package strataotel_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/strata-cache/strata/core"
	strataotel "github.com/strata-cache/strata/otel"
)

// ExampleNew prints each request span, with its strata.cache event, as JSON on standard
// output. In a server the span comes from otelhttp or the framework's instrumentation; here
// a small handler starts it. (No Output: the spans carry timestamps and random IDs.)
func ExampleNew() {
	exp, err := stdouttrace.New(stdouttrace.WithWriter(os.Stdout)) // one JSON object per span
	if err != nil {
		panic(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	mp := sdkmetric.NewMeterProvider() // add a reader (OTLP, Prometheus) to export the metrics

	obs, err := strataotel.New(strataotel.Options{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		panic(err)
	}
	cache, err := core.New(core.Config{Observer: obs})
	if err != nil {
		panic(err)
	}
	defer func() { _ = cache.Close() }()
	obs.Attach(cache)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "hello")
	})
	cached := cache.Middleware(mux)
	tracer := tp.Tracer("example")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracer.Start(r.Context(), "GET /hello")
		defer span.End()
		cached.ServeHTTP(w, r.WithContext(ctx))
	})
	for range 2 { // a miss, then a hit
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/hello", nil))
	}
}

// Example_metrics reads the request counter with an in-memory reader.
func Example_metrics() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	obs, err := strataotel.New(strataotel.Options{MeterProvider: mp, Mode: strataotel.ModeOff})
	if err != nil {
		panic(err)
	}
	cache, err := core.New(core.Config{Observer: obs})
	if err != nil {
		panic(err)
	}
	defer func() { _ = cache.Close() }()
	h := cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "hello")
	}), core.HandlerOptions{Route: func(*http.Request) string { return "/hello" }})
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/hello", nil))
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "strata.cache.requests" {
				for _, p := range sum.DataPoints {
					lines = append(lines, fmt.Sprintf("%s %s %d", m.Name, p.Attributes.Encoded(attribute.DefaultEncoder()), p.Value))
				}
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// strata.cache.requests strata.cache.result=hit,strata.cache.route=/hello,strata.cache.tier=l1 2
	// strata.cache.requests strata.cache.result=miss,strata.cache.route=/hello 1
}
