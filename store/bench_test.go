package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/strata-cache/strata/store"
)

var benchSizes = []struct {
	name string
	n    int
}{{"1KiB", 1 << 10}, {"16KiB", 16 << 10}, {"256KiB", 256 << 10}}

// benchL1 has 1 MiB shards, so that 256 KiB values fit (the default 256 KiB
// shards stop at 128 KiB).
func benchL1(b *testing.B) *store.L1 {
	return newL1(b, store.L1Config{MaxBytes: 256 << 20, Shards: 256})
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "strata:{" + strconv.FormatUint(uint64(i)*0x9e3779b97f4a7c15, 16) + "}:0:v:0"
	}
	return keys
}

func BenchmarkL1Get(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			l := benchL1(b)
			keys := benchKeys(64)
			v := make([]byte, sz.n)
			for _, k := range keys {
				if err := l.Set(ctx, k, v, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := l.Get(ctx, keys[i&63]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkL1GetParallel(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			l := benchL1(b)
			keys := benchKeys(64)
			v := make([]byte, sz.n)
			for _, k := range keys {
				if err := l.Set(ctx, k, v, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := l.Get(ctx, keys[i&63]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

func BenchmarkL1Set(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			l := benchL1(b)
			keys := benchKeys(1024)
			v := make([]byte, sz.n)
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := l.Set(ctx, keys[i&1023], v, time.Hour); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
