package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/metrics"
)

func Example() {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.Options{})
	cache, err := core.New(core.Config{Observer: m})
	if err != nil {
		panic(err)
	}
	defer func() { _ = cache.Close() }()
	m.Attach(cache) // L1 and Redis figures, read at scrape time

	// Serve GET /metrics with promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).
	h := cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "hello")
	}), core.HandlerOptions{Route: func(*http.Request) string { return "/hello" }})
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/hello", nil))
	}

	n, _ := testutil.GatherAndCount(reg, "strata_requests_total")
	fmt.Println("request series:", n)
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "strata_requests_total" {
			continue
		}
		for _, s := range mf.GetMetric() {
			if v := s.GetCounter().GetValue(); v > 0 {
				fmt.Printf("%s %s=%s %s=%s %v\n", mf.GetName(), s.GetLabel()[0].GetName(), s.GetLabel()[0].GetValue(),
					s.GetLabel()[1].GetName(), s.GetLabel()[1].GetValue(), v)
			}
		}
	}
	// Output:
	// request series: 8
	// strata_requests_total result=hit route=/hello 2
	// strata_requests_total result=miss route=/hello 1
}
