package metrics_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-cache/strata/appcache"
	"github.com/strata-cache/strata/metrics"
)

// TestAppCacheSeries: a value cache's fetches, loads and invalidations show in the series.
func TestAppCacheSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	obs := metrics.NewAppCache(reg, metrics.Options{})
	c, err := appcache.New(appcache.Options[string]{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	ctx := context.Background()
	load := func(context.Context) (string, error) { return "v", nil }
	if _, err := c.Fetch(ctx, "a", load); err != nil { // miss, load
		t.Fatal(err)
	}
	if _, err := c.Fetch(ctx, "a", load); err != nil { // L1 hit
		t.Fatal(err)
	}
	_, err = c.Fetch(ctx, "gone", func(context.Context) (string, error) { return "", appcache.ErrNotFound })
	if !errors.Is(err, appcache.ErrNotFound) {
		t.Fatalf("Fetch of an absent key: %v", err)
	}
	if err := c.Invalidate(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	got := samples(t, reg, "strata_app_hits_total")
	if got[`strata_app_hits_total{level="l1",negative="false",stale="false"}`] != 1 {
		t.Errorf("hits: %v", got)
	}
	if got := samples(t, reg, "strata_app_misses_total"); got["strata_app_misses_total{}"] != 2 {
		t.Errorf("misses: %v", got)
	}
	got = samples(t, reg, "strata_app_loads_total")
	if got[`strata_app_loads_total{background="false",outcome="ok"}`] != 1 ||
		got[`strata_app_loads_total{background="false",outcome="not_found"}`] != 1 {
		t.Errorf("loads: %v", got)
	}
	if got := samples(t, reg, "strata_app_invalidations_total"); got[`strata_app_invalidations_total{kind="key"}`] != 1 {
		t.Errorf("invalidations: %v", got)
	}
}
