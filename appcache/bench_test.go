package appcache

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allegro/bigcache/v3"
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
