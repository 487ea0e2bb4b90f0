package core

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zeebo/xxh3"

	"github.com/strata-cache/strata/etag"
	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store/redisstore"
)

// Every benchmark here runs next to the baseline it should be judged against: "strata" is the
// request through the cache, "bare" the same bytes written by a plain handler (or, for L2, a
// plain go-redis GET). Compare ns/op and allocs/op within one run:
//
//	go test -run '^$' -bench . -benchmem ./core
//	go test -run '^$' -bench 'L1Hit/1KiB/writer/strata' -cpuprofile cpu.out -memprofile mem.out ./core

var benchSizes = []struct {
	name string
	n    int
}{{"1KiB", 1 << 10}, {"16KiB", 16 << 10}, {"256KiB", 256 << 10}}

// benchCC is the policy of every benchmarked response: stored for ten minutes, so nothing
// expires during a run, and the hit's Cache-Status ttl stays under 1024 s (the precomputed
// range; BenchmarkRenderStatus/hit-ttl-3600 shows the cost past it).
const benchCC = "public, max-age=10, s-maxage=600"

// benchJSON returns n bytes of JSON.
func benchJSON(n int) []byte {
	b := make([]byte, 0, n)
	b = append(b, `{"id":42,"name":"widget","pad":"`...)
	for len(b) < n-2 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)[:n]
}

// benchBare is the baseline handler: what an application writes without a cache, with the
// same fields the cached handler sets.
func benchBare(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", benchCC)
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}

// benchWriter is a minimal reusable ResponseWriter, so a benchmark measures the cache and not
// the recorder. Its header map is cleared, not replaced, between requests.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func newBenchWriter() *benchWriter { return &benchWriter{h: make(http.Header, 8)} }

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}
func (w *benchWriter) reset() {
	clear(w.h)
	w.status, w.n = 0, 0
}

// benchCache builds a cache with default settings (real clock, XFetch, jitter), except an L1
// with room for 256 KiB entries.
func benchCache(b *testing.B, cfg Config) *Cache {
	b.Helper()
	if cfg.L1MaxBytes == 0 && !cfg.DisableL1 {
		cfg.L1MaxBytes = 64 << 20
	}
	c, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

// benchPrime sends r through h once and checks the Cache-Status of the answer.
func benchPrime(b *testing.B, h http.Handler, r *http.Request, wantStatus string) *httptest.ResponseRecorder {
	b.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if got := w.Header().Get("Cache-Status"); !strings.Contains(got, wantStatus) {
		b.Fatalf("Cache-Status %q, want %q", got, wantStatus)
	}
	return w
}

// benchServe runs the request loop against a reusable writer ("writer") and a fresh
// httptest.ResponseRecorder per request ("recorder").
func benchServe(b *testing.B, h http.Handler, r *http.Request, wantCode, wantLen int) {
	b.Run("writer", func(b *testing.B) {
		w := newBenchWriter()
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			h.ServeHTTP(w, r)
		}
		if w.status != wantCode || w.n != wantLen {
			b.Fatalf("status %d, %d bytes; want %d, %d", w.status, w.n, wantCode, wantLen)
		}
	})
	b.Run("recorder", func(b *testing.B) {
		var w *httptest.ResponseRecorder
		b.ReportAllocs()
		for b.Loop() {
			w = httptest.NewRecorder()
			h.ServeHTTP(w, r)
		}
		if w.Code != wantCode || w.Body.Len() != wantLen {
			b.Fatalf("status %d, %d bytes; want %d, %d", w.Code, w.Body.Len(), wantCode, wantLen)
		}
	})
}

// BenchmarkL1Hit is a fresh L1 hit through Middleware next to the bare handler writing the
// same bytes. The difference is what the cache adds to a hit.
func BenchmarkL1Hit(b *testing.B) {
	for _, sz := range benchSizes {
		body := benchJSON(sz.n)
		b.Run(sz.name+"/strata", func(b *testing.B) {
			c := benchCache(b, Config{})
			h := c.Middleware(benchBare(body))
			r := httptest.NewRequest(http.MethodGet, "/products/42", nil)
			benchPrime(b, h, r, "stored")
			benchPrime(b, h, r, "hit")
			benchServe(b, h, r, http.StatusOK, sz.n)
		})
		b.Run(sz.name+"/bare", func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/products/42", nil)
			benchServe(b, benchBare(body), r, http.StatusOK, sz.n)
		})
	}
}

// BenchmarkL1HitConfigs is the 1 KiB L1 hit of BenchmarkL1Hit in the configurations the
// performance budget compares: as is, with the decoded hot set off, and with a Redis L2 and
// fleet configured (the hit touches neither).
func BenchmarkL1HitConfigs(b *testing.B) {
	body := benchJSON(1 << 10)
	run := func(b *testing.B, cfg Config) {
		c := benchCache(b, cfg)
		h := c.Middleware(benchBare(body))
		r := httptest.NewRequest(http.MethodGet, "/products/42", nil)
		benchPrime(b, h, r, "stored")
		benchPrime(b, h, r, "hit")
		benchServe(b, h, r, http.StatusOK, len(body))
	}
	b.Run("l1", func(b *testing.B) { run(b, Config{}) })
	b.Run("l1-nohot", func(b *testing.B) { run(b, Config{HotBytes: -1}) })
	b.Run("l1-redis", func(b *testing.B) {
		srv := redistest.Start(b)
		if srv == nil {
			return
		}
		run(b, withRedis(b, Config{Namespace: "bench"}, srv.Client(b), redisOpts{Timeout: slowTolerant}))
	})
}

// BenchmarkL1HitKeys is the L1 hit over keys in rotation: 1,000 keys (the load benchmark's
// second scenario, 1.2 MiB of entries) and 20,000 keys (24 MiB, more than Config.HotBytes'
// default, so the decoded hot set cannot hold the working set), next to the bare handler
// serving the same requests.
func BenchmarkL1HitKeys(b *testing.B) {
	for _, nkeys := range []int{1000, 20000} {
		reqs := make([]*http.Request, nkeys)
		for i := range reqs {
			reqs[i] = httptest.NewRequest(http.MethodGet, "/products/"+strconv.Itoa(i), nil)
		}
		run := func(b *testing.B, h http.Handler) {
			w := newBenchWriter()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, reqs[i%nkeys])
				i++
			}
			if w.status != http.StatusOK {
				b.Fatalf("status %d", w.status)
			}
		}
		body := benchJSON(1 << 10)
		name := strconv.Itoa(nkeys) + "keys/1KiB"
		b.Run(name+"/strata", func(b *testing.B) {
			c := benchCache(b, Config{})
			h := c.Middleware(benchBare(body))
			for _, r := range reqs {
				benchPrime(b, h, r, "stored")
			}
			benchPrime(b, h, reqs[0], "hit")
			run(b, h)
		})
		b.Run(name+"/bare", func(b *testing.B) { run(b, benchBare(body)) })
	}
}

// BenchmarkL1HitParallel is the L1 hit under GOMAXPROCS goroutines (shard locks, pools).
func BenchmarkL1HitParallel(b *testing.B) {
	for _, sz := range benchSizes[:1] {
		body := benchJSON(sz.n)
		b.Run(sz.name+"/strata", func(b *testing.B) {
			c := benchCache(b, Config{})
			h := c.Middleware(benchBare(body))
			benchPrime(b, h, httptest.NewRequest(http.MethodGet, "/products/42", nil), "stored")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest(http.MethodGet, "/products/42", nil)
				w := newBenchWriter()
				for pb.Next() {
					w.reset()
					h.ServeHTTP(w, r)
				}
			})
		})
		b.Run(sz.name+"/bare", func(b *testing.B) {
			h := benchBare(body)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest(http.MethodGet, "/products/42", nil)
				w := newBenchWriter()
				for pb.Next() {
					w.reset()
					h.ServeHTTP(w, r)
				}
			})
		})
	}
}

// BenchmarkL2Hit is a hit served from Redis with the L1 disabled, next to a handler that does
// a plain go-redis GET of the same stored value and writes it.
func BenchmarkL2Hit(b *testing.B) {
	srv := redistest.Start(b)
	client := srv.Client(b)
	ctx := context.Background()
	for i, sz := range benchSizes {
		body := benchJSON(sz.n)
		path := "/products/" + strconv.Itoa(i)
		c := benchCache(b, withRedis(b, Config{DisableL1: true, Namespace: "bench" + strconv.Itoa(i)}, client, redisOpts{}))
		h := c.Middleware(benchBare(body))
		r := httptest.NewRequest(http.MethodGet, path, nil)
		benchPrime(b, h, r, "stored")
		benchPrime(b, h, r, "hit")
		keys, err := client.Keys(ctx, "bench"+strconv.Itoa(i)+":*:v").Result()
		if err != nil || len(keys) != 1 {
			b.Fatalf("stored keys %v, %v; want one", keys, err)
		}
		key := keys[0]
		b.Run(sz.name+"/strata", func(b *testing.B) {
			benchServe(b, h, r, http.StatusOK, sz.n)
		})
		b.Run(sz.name+"/redis-get", func(b *testing.B) {
			bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				v, err := client.Get(r.Context(), key).Bytes()
				if err != nil {
					w.WriteHeader(http.StatusBadGateway)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(v)
			})
			raw, _ := client.Get(ctx, key).Bytes()
			benchServe(b, bare, r, http.StatusOK, len(raw))
		})
	}
}

// memTierL2 is an in-process L2 for benchmarks: Get returns the stored slice itself (the cache
// only reads what a tier returns), so BenchmarkL2HitLocal measures the cache's own work.
type memTierL2 struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (t *memTierL2) Get(_ context.Context, key string) ([]byte, error) {
	t.mu.Lock()
	b, ok := t.m[key]
	t.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	return b, nil
}

func (t *memTierL2) Set(_ context.Context, key string, value []byte, _ time.Duration) error {
	t.mu.Lock()
	t.m[key] = bytes.Clone(value)
	t.mu.Unlock()
	return nil
}

func (t *memTierL2) Delete(_ context.Context, keys ...string) error {
	t.mu.Lock()
	for _, k := range keys {
		delete(t.m, k)
	}
	t.mu.Unlock()
	return nil
}

// BenchmarkL2HitLocal is BenchmarkL2Hit over an in-process tier: what the cache adds to an
// L2 hit (keys, the shared read, checksum, decode, checks, the answer), without the network.
func BenchmarkL2HitLocal(b *testing.B) {
	for _, sz := range benchSizes {
		body := benchJSON(sz.n)
		l2 := &memTierL2{m: map[string][]byte{}}
		c := benchCache(b, Config{DisableL1: true, L2: l2})
		h := c.Middleware(benchBare(body))
		r := httptest.NewRequest(http.MethodGet, "/products/1", nil)
		benchPrime(b, h, r, "stored")
		benchPrime(b, h, r, "hit")
		b.Run(sz.name+"/strata", func(b *testing.B) {
			benchServe(b, h, r, http.StatusOK, sz.n)
		})
	}
}

// BenchmarkMissStore is a miss on a new URL every time: the handler runs, the answer is
// recorded, encoded and stored in L1. The baseline is the handler alone. Both sides build
// the URL of each request (one allocation).
func BenchmarkMissStore(b *testing.B) {
	for _, sz := range benchSizes {
		body := benchJSON(sz.n)
		run := func(b *testing.B, h http.Handler) {
			r := httptest.NewRequest(http.MethodGet, "/products/0", nil)
			w := newBenchWriter()
			var pb []byte
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				pb = strconv.AppendInt(append(pb[:0], "/products/"...), int64(i), 10)
				r.URL.Path = string(pb)
				i++
				w.reset()
				h.ServeHTTP(w, r)
			}
			if w.status != http.StatusOK || w.n != sz.n {
				b.Fatalf("status %d, %d bytes", w.status, w.n)
			}
		}
		b.Run(sz.name+"/strata", func(b *testing.B) {
			c := benchCache(b, Config{})
			h := c.Middleware(benchBare(body))
			benchPrime(b, h, httptest.NewRequest(http.MethodGet, "/prime", nil), "stored")
			run(b, h)
		})
		b.Run(sz.name+"/bare", func(b *testing.B) { run(b, benchBare(body)) })
	}
}

// BenchmarkNotModified is a conditional request (If-None-Match) on a fresh L1 entry, answered
// 304 by the cache, next to a handler that answers it with etag.NotModified.
func BenchmarkNotModified(b *testing.B) {
	for _, sz := range benchSizes {
		body := benchJSON(sz.n)
		b.Run(sz.name+"/strata", func(b *testing.B) {
			c := benchCache(b, Config{})
			h := c.Middleware(benchBare(body))
			r := httptest.NewRequest(http.MethodGet, "/products/42", nil)
			w := benchPrime(b, h, r, "stored")
			r.Header.Set("If-None-Match", w.Header().Get("Etag"))
			benchPrime(b, h, r, "hit")
			benchServe(b, h, r, http.StatusNotModified, 0)
		})
		b.Run(sz.name+"/bare", func(b *testing.B) {
			tag := etag.Strong(body)
			bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", benchCC)
				if etag.NotModified(w, r, tag, time.Time{}) {
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(body)
			})
			r := httptest.NewRequest(http.MethodGet, "/products/42", nil)
			r.Header.Set("If-None-Match", tag)
			benchServe(b, bare, r, http.StatusNotModified, 0)
		})
	}
}

// BenchmarkKey builds the primary key, hashes it and renders the base key, as serve does; the
// baseline hashes the raw request URI (what a naive cache keys on).
func BenchmarkKey(b *testing.B) {
	c := benchCache(b, Config{})
	for _, tc := range []struct{ name, target string }{
		{"path", "/products/42"},
		{"query", "/products?category=tools&sort=price&page=2&utm_source=x"},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.target, nil)
		b.Run(tc.name+"/strata", func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				var kb, bb keyBuf
				p := c.primary(kb[:0], r, nil)
				k := keys{hash: c.hashKey(p), gen: c.gen.Load()}
				n += len(c.base(bb[:0], k))
			}
			benchSinkInt = n
		})
		b.Run(tc.name+"/naive", func(b *testing.B) {
			b.ReportAllocs()
			var h uint64
			for b.Loop() {
				h += xxh3.HashString(r.Host + r.URL.RequestURI())
			}
			benchSinkInt = int(h)
		})
	}
}

var benchSinkInt int

// benchEntry returns the entry the cache stores for benchBare(body).
func benchEntry(b *testing.B, body []byte) entry {
	b.Helper()
	c := benchCache(b, Config{})
	h := c.Middleware(benchBare(body))
	r := httptest.NewRequest(http.MethodGet, "/products/42", nil)
	benchPrime(b, h, r, "stored")
	var kb, bb keyBuf
	k := keys{hash: c.hashKey(c.primary(kb[:0], r, nil)), gen: c.gen.Load()}
	raw, _, err := c.get(context.Background(), string(c.base(bb[:0], k)))
	if err != nil {
		b.Fatal(err)
	}
	var e entry
	if err := decodeEntry(raw, &e); err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkEntry encodes and decodes a stored entry. Encoding is judged against a plain copy
// of the body (the floor: every byte is written once); decoding aliases the buffer and should
// not depend on the body size. entry-bytes is the encoded size.
func BenchmarkEntry(b *testing.B) {
	for _, sz := range benchSizes {
		body := benchJSON(sz.n)
		e := benchEntry(b, body)
		raw := e.encode(nil)
		b.Run(sz.name+"/encode", func(b *testing.B) {
			dst := make([]byte, 0, e.size())
			b.ReportAllocs()
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				dst = e.encode(dst[:0])
			}
			b.ReportMetric(float64(len(dst)), "entry-bytes")
		})
		b.Run(sz.name+"/encode-alloc", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				raw = e.encode(make([]byte, 0, e.size()))
			}
		})
		b.Run(sz.name+"/copy", func(b *testing.B) {
			dst := make([]byte, 0, len(raw))
			b.ReportAllocs()
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				dst = append(dst[:0], body...)
			}
		})
		b.Run(sz.name+"/decode", func(b *testing.B) {
			b.ReportAllocs()
			var d entry
			for b.Loop() {
				if err := decodeEntry(raw, &d); err != nil {
					b.Fatal(err)
				}
			}
			if !bytes.Equal(d.body, body) {
				b.Fatal("decoded body differs")
			}
		})
	}
}

// BenchmarkRenderStatus renders Cache-Status for a hit (precomputed) and a stored miss.
func BenchmarkRenderStatus(b *testing.B) {
	c := benchCache(b, Config{})
	for _, tc := range []struct {
		name string
		cs   cacheStatus
	}{
		{"hit", cacheStatus{hit: true, ttl: 59 * time.Second, hasTTL: true}},
		{"hit-ttl-3600", cacheStatus{hit: true, ttl: 3599 * time.Second, hasTTL: true}},
		{"stored", cacheStatus{fwd: "uri-miss", stored: true, ttl: time.Hour, hasTTL: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				n += len(c.renderStatus(tc.cs))
			}
			benchSinkInt = n
		})
	}
}

// BenchmarkFleetStampede is the fleet-wide stampede of the performance budget: per iteration,
// 200 concurrent requests for a new cold key, half on each of two instances sharing Redis, in
// front of a 100 ms origin. It reports the latency percentiles of the 200 answers and the
// origin runs per key (1: one fill for the whole fleet), and fails on any other count.
func BenchmarkFleetStampede(b *testing.B) {
	srv := redistest.Start(b)
	if srv == nil {
		return
	}
	const (
		n      = 200
		origin = 100 * time.Millisecond
	)
	var runs atomic.Int64
	h := func(w http.ResponseWriter, _ *http.Request) {
		runs.Add(1)
		time.Sleep(origin)
		w.Header().Set("Cache-Control", benchCC)
		_, _ = w.Write([]byte("filled"))
	}
	var hs []http.Handler
	var stores []*redisstore.Store
	for range 2 {
		c := benchCache(b, withRedis(b, Config{Namespace: "stampede"}, srv.Client(b), redisOpts{Timeout: slowTolerant}))
		hs = append(hs, c.Middleware(http.HandlerFunc(h)))
		stores = append(stores, c.l2.(*redisstore.Store))
	}
	gets := func() (n uint64) {
		for _, s := range stores {
			n += s.Stats().Gets
		}
		return n
	}
	gets0 := gets()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		runs.Store(0)
		path := "/cold/" + strconv.Itoa(i)
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		for j := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := httptest.NewRequest(http.MethodGet, path, nil)
				w := httptest.NewRecorder()
				<-start
				t0 := time.Now()
				hs[j%2].ServeHTTP(w, r)
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
				if w.Code != http.StatusOK || w.Body.String() != "filled" {
					b.Errorf("answer %d %q", w.Code, w.Body.String())
				}
			}()
		}
		close(start)
		wg.Wait()
		if got := runs.Load(); got != 1 {
			b.Fatalf("origin runs for one cold key across two instances: %d, want 1", got)
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(1, "origin-runs/key")
	b.ReportMetric(float64(gets()-gets0)/float64(i), "l2-gets/key")
}
