package msgpackcodec

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/strata-cache/strata/appcache"
)

// JSON against msgpack on the same 1 KiB product: encode, decode, and an L1 Fetch hit.

func codecs() []struct {
	name  string
	codec appcache.Codec[product]
} {
	return []struct {
		name  string
		codec appcache.Codec[product]
	}{
		{"json", appcache.JSON[product]{}},
		{"msgpack", Codec[product]{StructTag: "json"}},
		{"msgpack-arrays", Codec[product]{Arrays: true}},
	}
}

func BenchmarkEncode(b *testing.B) {
	p := newProduct()
	for _, c := range codecs() {
		b.Run(c.name, func(b *testing.B) {
			enc, _ := c.codec.Marshal(p)
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.codec.Marshal(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range codecs() {
		b.Run(c.name, func(b *testing.B) {
			enc, _ := c.codec.Marshal(newProduct())
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			for b.Loop() {
				var p product
				if err := c.codec.Unmarshal(enc, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFetchL1Hit(b *testing.B) {
	for _, c := range codecs() {
		b.Run(c.name, func(b *testing.B) {
			cache, err := appcache.New(appcache.Options[product]{Codec: c.codec, Beta: -1})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = cache.Close() })
			ctx := context.Background()
			load := func(context.Context) (product, error) { return newProduct(), nil }
			_, _ = cache.Fetch(ctx, "42", load)
			enc, _ := json.Marshal(newProduct())
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cache.Fetch(ctx, "42", load); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
