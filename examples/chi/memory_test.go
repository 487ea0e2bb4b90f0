package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-cache/strata/internal/procstat"

	"github.com/strata-cache/strata/examples/internal/demo"
)

// TestTaggedURLMemory is the memory check of issue 12 ("300,000 unique tagged URLs against
// the demo keep RSS under 2× the configured L1 + hot-set bytes + 64 MiB"). It serves the demo
// API on chi with the examples' cache (L1 only: L1MaxBytes 64 MiB and HotBytes 8 MiB, the
// defaults), over a catalogue that has every product id, with ~1 KiB answers: each
// GET /products/{id} is a miss that stores an entry tagged "product:{id}" (and its category).
// It reports the peak RSS (VmHWM) and the RSS once garbage is collected. It runs only with
// STRATA_MEMTEST=1, in a process of its own:
//
//	STRATA_MEMTEST=1 go test ./examples/chi -run TestTaggedURLMemory -count=1 -v
//
// STRATA_MEMTEST_N overrides the number of URLs (default 300000), STRATA_MEMTEST_PAD the
// padding of the product name (default 900 bytes, answers of about 1 KiB).
func TestTaggedURLMemory(t *testing.T) {
	if os.Getenv("STRATA_MEMTEST") != "1" {
		t.Skip("set STRATA_MEMTEST=1 to run the memory measurement")
	}
	n, pad := 300_000, 900
	for name, v := range map[string]*int{"STRATA_MEMTEST_N": &n, "STRATA_MEMTEST_PAD": &pad} {
		if s := os.Getenv(name); s != "" {
			var err error
			if *v, err = strconv.Atoi(s); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	const (
		l1Bytes  = 64 << 20 // core's defaults
		hotBytes = 8 << 20
		bound    = 2*(l1Bytes+hotBytes) + 64<<20
	)
	setup, err := demo.NewSetup(demo.Flags{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = setup.Close() }()
	app := demo.New(setup.Cache)
	app.Catalogue = everyProduct{pad: strings.Repeat("x", pad)}
	h := Router(setup, app)

	w := &memWriter{h: http.Header{}}
	r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:8080/products/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(id int) string {
		r.URL.Path = "/products/" + strconv.Itoa(id)
		clear(w.h)
		w.status, w.n = 0, 0
		h.ServeHTTP(w, r)
		return w.h.Get("Cache-Status")
	}
	if cs := serve(0); !strings.Contains(cs, "stored") || w.status != http.StatusOK {
		t.Fatalf("warm-up: status %d, Cache-Status %q; want a stored 200", w.status, cs)
	}
	bodyBytes := w.n
	settle()
	before := procStatus(t, "VmRSS")

	stored := 0
	for id := 1; id <= n; id++ {
		if strings.Contains(serve(id), "stored") {
			stored++
		}
	}
	live := procStatus(t, "VmRSS")
	settle()
	after := procStatus(t, "VmRSS")
	peak := procStatus(t, "VmHWM")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	l1 := setup.Cache.Stats().L1

	// Purging by tag still works: the last product's entry is found and removed.
	purged, err := setup.Cache.PurgeTags(context.Background(), "product:"+strconv.Itoa(n))
	if err != nil || purged != 1 {
		t.Errorf("PurgeTags(product:%d) = %d, %v; want 1, nil", n, purged, err)
	}

	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	t.Logf("%d tagged URLs, %d stored, body %d bytes: RSS before %s, live %s, after GC %s, peak (VmHWM) %s; heap in use %s; bound %s; L1 %d entries, %d evictions",
		n, stored, bodyBytes, mib(before), mib(live), mib(after), mib(peak), mib(int64(ms.HeapInuse)), mib(bound), l1.Entries, l1.Evictions)
	if stored != n {
		t.Errorf("%d of %d answers stored", stored, n)
	}
	if peak > bound {
		t.Errorf("peak RSS %s exceeds the bound 2×(L1 %s + hot set %s) + 64 MiB = %s",
			mib(peak), mib(l1Bytes), mib(hotBytes), mib(bound))
	}
}

// everyProduct is a catalogue that has every id, with a padded name (about 1 KiB answers).
type everyProduct struct{ pad string }

func (c everyProduct) Get(_ context.Context, id int) (demo.Product, bool, error) {
	return demo.Product{ID: id, Name: "Product " + strconv.Itoa(id) + " " + c.pad,
		Category: [...]string{"books", "games", "tools", "music", "garden"}[id%5], Price: 9.99, Version: 1}, true, nil
}

func (c everyProduct) List(context.Context, string) ([]demo.Product, error) { return nil, nil }

func (c everyProduct) Update(context.Context, int, func(*demo.Product)) (demo.Product, bool, error) {
	return demo.Product{}, false, nil
}

// memWriter is a minimal reusable ResponseWriter (as internal/loadbench's memory mode).
type memWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *memWriter) Header() http.Header { return w.h }
func (w *memWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *memWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

// settle collects garbage and returns freed memory to the OS, so RSS shows what is retained.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

// procStatus reads a field of /proc/self/status in bytes.
func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	v, err := procstat.Process(0, field)
	if err != nil {
		t.Skipf("no /proc status: %v", err)
	}
	return v
}
