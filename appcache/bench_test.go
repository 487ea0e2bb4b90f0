package appcache

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/allegro/bigcache/v3"

	"github.com/strata-cache/strata/internal/redistest"
)

// benchValue is about 1 KiB of JSON.
type benchValue struct {
	ID          int      `json:"id"`
	Name        string   `json:"name"`
	Price       float64  `json:"price"`
	Tags        []string `json:"tags"`
	Description string   `json:"description"`
}

func newBenchValue() benchValue {
	return benchValue{ID: 42, Name: "desk lamp", Price: 39.5, Tags: []string{"lighting", "office"},
		Description: strings.Repeat("a warm, dimmable desk lamp. ", 34)}
}

// rawCodec passes bytes through: the cache's own cost without a decode.
type rawCodec struct{}

func (rawCodec) Marshal(v []byte) ([]byte, error) { return v, nil }
func (rawCodec) Unmarshal(b []byte, v *[]byte) error {
	*v = b
	return nil
}

func BenchmarkFetchL1HitJSON(b *testing.B) {
	c := newCache(b, Options[benchValue]{Beta: -1})
	v := newBenchValue()
	load := func(context.Context) (benchValue, error) { return v, nil }
	_, _ = c.Fetch(bg, "product:42", load)
	enc, _ := json.Marshal(v)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Fetch(bg, "product:42", load); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFetchL1HitRaw(b *testing.B) {
	c := newCache(b, Options[[]byte]{Codec: rawCodec{}, Beta: -1})
	enc, _ := json.Marshal(newBenchValue())
	load := func(context.Context) ([]byte, error) { return enc, nil }
	_, _ = c.Fetch(bg, "product:42", load)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Fetch(bg, "product:42", load); err != nil {
			b.Fatal(err)
		}
	}
}

// The baselines: the same bytes (the encoded value) from a map under an RWMutex, and from
// bigcache directly, each without and with the JSON decode.

func benchMap(b *testing.B, decode bool) {
	var mu sync.RWMutex
	enc, _ := json.Marshal(newBenchValue())
	m := map[string][]byte{"product:42": enc}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		mu.RLock()
		got := m["product:42"]
		mu.RUnlock()
		if decode {
			var v benchValue
			if err := json.Unmarshal(got, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkMapRWMutexRead(b *testing.B)       { benchMap(b, false) }
func BenchmarkMapRWMutexReadDecode(b *testing.B) { benchMap(b, true) }

func benchBigcache(b *testing.B, decode bool) {
	bc, err := bigcache.New(context.Background(), bigcache.DefaultConfig(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bc.Close() })
	enc, _ := json.Marshal(newBenchValue())
	_ = bc.Set("product:42", enc)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		got, err := bc.Get("product:42")
		if err != nil {
			b.Fatal(err)
		}
		if decode {
			var v benchValue
			if err := json.Unmarshal(got, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkBigcacheRead(b *testing.B)       { benchBigcache(b, false) }
func BenchmarkBigcacheReadDecode(b *testing.B) { benchBigcache(b, true) }

// The L2: a Fetch that misses the L1 (whose MaxEntryBytes is too small to hold the value, so
// nothing is ever promoted) and hits Redis through redisstore, against a plain go-redis GET of
// the same JSON and its decode. Both run against one redis-server on loopback; without one
// they skip (unless STRATA_REQUIRE_REDIS=1).

func BenchmarkFetchL2HitJSON(b *testing.B) {
	srv := redistest.Start(b)
	rs := newRedisStore(b, srv)
	o := Options[benchValue]{L2: rs, Beta: -1, Jitter: -1, TTL: time.Hour}
	o.L1.MaxEntryBytes = 64
	c := newCache(b, o)
	v := newBenchValue()
	load := func(context.Context) (benchValue, error) { return v, nil }
	if _, err := c.Fetch(bg, "product:42", load); err != nil {
		b.Fatal(err)
	}
	enc, _ := json.Marshal(v)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Fetch(bg, "product:42", load); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if s := c.Stats(); s.Loads != 1 || s.HitsL1 != 0 {
		b.Fatalf("not an L2 hit each time: %+v", s)
	}
}

func BenchmarkRedisGetDecode(b *testing.B) {
	srv := redistest.Start(b)
	rc := srv.Client(b)
	enc, _ := json.Marshal(newBenchValue())
	if err := rc.Set(bg, "plain:product:42", enc, time.Hour).Err(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		got, err := rc.Get(bg, "plain:product:42").Bytes()
		if err != nil {
			b.Fatal(err)
		}
		var v benchValue
		if err := json.Unmarshal(got, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// FetchMany of n keys that are all in Redis (not in the L1): one call, which reads them in one
// round trip (redisstore's GetMany), against n Fetch calls one after another.
func BenchmarkFetchManyL2Hit(b *testing.B) {
	srv := redistest.Start(b)
	rs := newRedisStore(b, srv)
	o := Options[benchValue]{L2: rs, Beta: -1, Jitter: -1, TTL: time.Hour}
	o.L1.MaxEntryBytes = 64
	c := newCache(b, o)
	v := newBenchValue()
	const n = 20
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("product:%d", i)
	}
	loadMany := func(_ context.Context, ks []string) (map[string]benchValue, error) {
		m := make(map[string]benchValue, len(ks))
		for _, k := range ks {
			m[k] = v
		}
		return m, nil
	}
	if _, err := c.FetchMany(bg, keys, loadMany); err != nil {
		b.Fatal(err)
	}
	b.Run(fmt.Sprintf("FetchMany-%d", n), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got, err := c.FetchMany(bg, keys, loadMany); err != nil || len(got) != n {
				b.Fatal(len(got), err)
			}
		}
	})
	b.Run(fmt.Sprintf("Fetch-sequential-%d", n), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, k := range keys {
				if _, err := c.Fetch(bg, k, func(context.Context) (benchValue, error) { return v, nil }); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// The stampede, as a benchmark: per iteration, 1,000 concurrent cold Fetch calls of a
// new key, half on each of two instances sharing Redis, with a 10 ms loader. It fails if the
// loader ran more than once for a key (TestStampedeAcrossTwoInstances checks the same with a
// slower loader).
func BenchmarkStampedeTwoInstances(b *testing.B) {
	srv := redistest.Start(b)
	ca := newCache(b, Options[int]{L2: newRedisStore(b, srv)})
	cb := newCache(b, Options[int]{L2: newRedisStore(b, srv)})
	var loads atomic.Int64
	load := func(context.Context) (int, error) {
		loads.Add(1)
		time.Sleep(10 * time.Millisecond)
		return 1, nil
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		key := fmt.Sprintf("hot:%d", i)
		loads.Store(0)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for j := range 1000 {
			c := ca
			if j%2 == 1 {
				c = cb
			}
			wg.Go(func() {
				<-start
				if _, err := c.Fetch(bg, key, load); err != nil {
					b.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := loads.Load(); n != 1 {
			b.Fatalf("loader ran %d times, want 1", n)
		}
	}
}
