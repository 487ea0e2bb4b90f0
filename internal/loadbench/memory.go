package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/store"
)

// memResult is what the memory child (this binary with -mem) prints.
type memResult struct {
	Mode       string  `json:"mode"` // "fill" or "flood"
	L1MiB      int     `json:"l1_mib"`
	Entries    int     `json:"entries"`
	BodyBytes  int     `json:"body_bytes"`
	Stored     int     `json:"stored"`      // answers with "stored" in Cache-Status
	Hits       int     `json:"hits"`        // entries still answered from the cache afterwards
	FieldBytes int     `json:"field_bytes"` // header bytes of one stored answer (name + value)
	RSSBefore  int64   `json:"rss_before"`  // after GC and FreeOSMemory
	RSSAfter   int64   `json:"rss_after"`   // after GC and FreeOSMemory
	RSSLive    int64   `json:"rss_live"`    // right after the inserts, no forced GC
	HWM        int64   `json:"hwm"`
	HeapInuse  uint64  `json:"heap_inuse"`
	Samples    []int64 `json:"samples"`     // flood: RSS after each step, no forced GC
	EntryBytes int     `json:"entry_bytes"` // the encoded entry of one answer, as core hands it to a tier
	KeyBytes   int     `json:"key_bytes"`   // its key
	L1Bytes    int64   `json:"l1_bytes"`    // bigcache's allocated queues after the inserts (L1Stats.Bytes)
	StepSize   int     `json:"step"`
	Seconds    float64 `json:"seconds"`
}

// memWriter is a minimal reusable ResponseWriter.
type memWriter struct {
	h      http.Header
	status int
}

func (w *memWriter) Header() http.Header { return w.h }
func (w *memWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *memWriter) Write(p []byte) (int, error) { return len(p), nil }

// memMain inserts entries through the middleware into the L1 (no network: the request goes
// straight to the handler) and measures the process's RSS.
//
// fill: RSS growth for n entries, against the payload (n × body bytes).
// flood: n unique keys into a smaller L1, sampling RSS every step: it must level off.
func memMain(mode string, n, bodySize, l1MiB, step int) error {
	if mode == "l1" {
		return memL1Main(n, bodySize, l1MiB)
	}
	entry, keyLen, err := probeEntry(bodySize)
	if err != nil {
		return err
	}
	cache, err := core.New(core.Config{L1MaxBytes: l1MiB << 20})
	if err != nil {
		return err
	}
	defer func() { _ = cache.Close() }()
	body := jsonBody(bodySize)
	h := cache.Middleware(core.PolicyMiddleware(itemPolicy)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})))
	w := &memWriter{h: http.Header{}}
	r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1/items/0", nil)
	if err != nil {
		return err
	}
	var pathBuf []byte
	serve := func(prefix string, i int) string {
		pathBuf = strconv.AppendInt(append(pathBuf[:0], prefix...), int64(i), 10)
		r.URL.Path = string(pathBuf)
		clear(w.h)
		w.status = 0
		h.ServeHTTP(w, r)
		return w.h.Get("Cache-Status")
	}

	res := memResult{Mode: mode, L1MiB: l1MiB, Entries: n, BodyBytes: bodySize, StepSize: step, EntryBytes: entry, KeyBytes: keyLen}
	// Warm the code paths on a key outside the measured set, then take the baseline.
	serve("/warm/", 0)
	serve("/warm/", 0)
	for k, vs := range w.h {
		if k == "Age" || k == "Cache-Status" {
			continue // computed on every answer, not stored
		}
		for _, v := range vs {
			res.FieldBytes += len(k) + len(v)
		}
	}
	settle()
	res.RSSBefore = rssOf(os.Getpid())

	t0 := time.Now()
	for i := range n {
		if strings.Contains(serve("/items/", i), "stored") {
			res.Stored++
		}
		if mode == "flood" && step > 0 && (i+1)%step == 0 {
			res.Samples = append(res.Samples, rssOf(os.Getpid()))
		}
	}
	res.Seconds = time.Since(t0).Seconds()
	res.RSSLive = rssOf(os.Getpid())
	settle()
	res.RSSAfter = rssOf(os.Getpid())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapInuse = ms.HeapInuse
	res.HWM, _ = procStatus(os.Getpid(), "VmHWM")
	res.L1Bytes = cache.Stats().L1.Bytes

	if mode == "fill" {
		// only-if-cached: a miss answers 504 and stores nothing. Without it every miss would
		// store its answer again and, in a full L1, evict an entry not yet checked.
		r.Header.Set("Cache-Control", "only-if-cached")
		for i := range n {
			if strings.Contains(serve("/items/", i), "hit") {
				res.Hits++
			}
		}
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// recordTier is an L2 that keeps nothing but the size of the last entry stored in it.
type recordTier struct{ key, value int }

func (t *recordTier) Get(context.Context, string) ([]byte, error) { return nil, store.ErrNotFound }
func (t *recordTier) Set(_ context.Context, key string, value []byte, _ time.Duration) error {
	t.key, t.value = len(key), len(value)
	return nil
}
func (t *recordTier) Delete(context.Context, ...string) error { return nil }

// probeEntry returns the size of the entry (and of its key) that core stores for one answer
// of the memory fill, read from a cache whose L2 only records it. The L1 stores the same
// bytes behind its 8-byte expiry.
func probeEntry(bodySize int) (entry, key int, err error) {
	t := &recordTier{}
	cache, err := core.New(core.Config{L1MaxBytes: 1 << 20, L2: t})
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = cache.Close() }()
	body := jsonBody(bodySize)
	h := cache.Middleware(core.PolicyMiddleware(itemPolicy)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})))
	r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1/items/12345", nil)
	if err != nil {
		return 0, 0, err
	}
	h.ServeHTTP(&memWriter{h: http.Header{}}, r)
	if t.value == 0 {
		return 0, 0, errors.New("memory probe: the answer was not stored")
	}
	return t.value, t.key, nil
}

// memL1Main fills a store.L1 directly (no core) with n entries of the size core stores for
// one answer, to separate bigcache's overhead from the cache's.
func memL1Main(n, bodySize, l1MiB int) error {
	entry, keyLen, err := probeEntry(bodySize)
	if err != nil {
		return err
	}
	// The shard count core picks for its default MaxEntryBytes (1 MiB body + 64 KiB): the
	// most shards, up to 256, that still take an entry that large.
	shards := 256
	for shards > 1 && l1MiB<<20/shards/2-32 < 1<<20+64<<10+1<<10 {
		shards /= 2
	}
	l1, err := store.NewL1(store.L1Config{MaxBytes: l1MiB << 20, Shards: shards})
	if err != nil {
		return err
	}
	defer func() { _ = l1.Close() }()
	res := memResult{Mode: "l1", L1MiB: l1MiB, Entries: n, BodyBytes: bodySize, EntryBytes: entry, KeyBytes: keyLen}
	value := make([]byte, entry)
	key := make([]byte, 0, keyLen)
	mk := func(i int) string {
		key = strconv.AppendInt(key[:0], int64(i), 10)
		for len(key) < keyLen {
			key = append(key, 'k')
		}
		return string(key)
	}
	ctx := context.Background()
	settle()
	res.RSSBefore = rssOf(os.Getpid())
	t0 := time.Now()
	for i := range n {
		if err := l1.Set(ctx, mk(i), value, time.Hour); err != nil {
			return err
		}
		res.Stored++
	}
	res.Seconds = time.Since(t0).Seconds()
	res.RSSLive = rssOf(os.Getpid())
	settle()
	res.RSSAfter = rssOf(os.Getpid())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapInuse = ms.HeapInuse
	res.HWM, _ = procStatus(os.Getpid(), "VmHWM")
	res.L1Bytes = l1.Bytes()
	for i := range n {
		if _, err := l1.Get(ctx, mk(i)); err == nil {
			res.Hits++
		}
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// settle collects garbage and returns freed memory to the OS, so RSS shows what is retained.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

func rssOf(pid int) int64 {
	v, _ := procStatus(pid, "VmRSS")
	return v
}

// runMemory runs one memory child (pinned to the server CPU) and returns its result.
func runMemory(ctx context.Context, o *options, mode string, n, l1MiB, step int) (memResult, error) {
	argv := []string{self, "-mem", mode, "-mem-entries", strconv.Itoa(n), "-body", strconv.Itoa(o.body),
		"-mem-l1", strconv.Itoa(l1MiB), "-mem-step", strconv.Itoa(step)}
	p, err := startProc("memory "+mode, pin(o.serverCPU, argv), []string{"GOMAXPROCS=1"})
	if err != nil {
		return memResult{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := p.wait(cctx); err != nil {
		return memResult{}, fmt.Errorf("memory %s: %v\n%s", mode, err, tail(p.out.String(), 2000))
	}
	var res memResult
	if err := json.Unmarshal([]byte(lastLine(p.out.String())), &res); err != nil {
		return memResult{}, fmt.Errorf("memory %s output: %v\n%s", mode, err, tail(p.out.String(), 2000))
	}
	return res, nil
}
