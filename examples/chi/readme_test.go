package main

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/strata-cache/strata/examples/internal/demo"
)

// readmeBlock returns the lines of the first fenced block in README.md after the line
// that contains marker.
func readmeBlock(t *testing.T, marker string) []string {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var lines []string
	found, in := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !found:
			found = strings.Contains(line, marker)
		case strings.HasPrefix(line, "```"):
			if in {
				return lines
			}
			in = true
		case in:
			lines = append(lines, line)
		}
	}
	t.Fatalf("README.md: no fenced block after %q", marker)
	return nil
}

// TestREADMEMetricsSample runs the README's metrics sample against this example — two
// GETs of /products/1, then /metrics filtered as `grep '^strata_requests_total'` — and wants
// exactly the lines the README prints.
func TestREADMEMetricsSample(t *testing.T) {
	want := readmeBlock(t, "TestREADMEMetricsSample")
	if len(want) == 0 {
		t.Fatal("README.md: the metrics sample is empty")
	}
	setup, err := demo.NewSetup(demo.Flags{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = setup.Close() })
	app, err := demo.NewApp(setup.Cache, demo.Flags{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Router(setup, app))
	defer srv.Close()
	get := func(path string) string {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	get("/products/1")
	get("/products/1")
	var got []string
	for line := range strings.SplitSeq(get("/metrics"), "\n") {
		if strings.HasPrefix(line, "strata_requests_total") {
			got = append(got, line)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("README.md's metrics sample is not the real output:\nREADME:\n%s\nreal:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}
