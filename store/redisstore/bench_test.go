package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/store/redisstore"
)

// BenchmarkRedisGet compares the store's Get (breaker, per-call timeout,
// stats) with a bare go-redis GET of the same 1 KiB value. The reqctx
// variants call with a cancelable context, as an HTTP request's is: a
// context.WithTimeout under it registers with it and arms a timer. Besides
// ns/op (wall time, which a shared machine makes noisy) they report
// cpu-ns/op, the client process's CPU time per call.
func BenchmarkRedisGet(b *testing.B) {
	srv := redistest.Start(b)
	client := srv.Client(b)
	r, err := redisstore.New(client, redisstore.Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	const key = "strata:{bench}:0:v:0"
	if err := r.Set(ctx, key, make([]byte, 1<<10), time.Hour); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, get func(context.Context) ([]byte, error)) {
		b.Run("serial", func(b *testing.B) {
			b.SetBytes(1 << 10)
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := get(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("parallel", func(b *testing.B) {
			b.SetBytes(1 << 10)
			b.ReportAllocs()
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := get(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	reqCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.Run("store/1KiB", func(b *testing.B) {
		run(b, func(ctx context.Context) ([]byte, error) { return r.Get(ctx, key) })
	})
	b.Run("store-reqctx/1KiB", func(b *testing.B) {
		run(b, func(context.Context) ([]byte, error) { return r.Get(reqCtx, key) })
	})
	b.Run("raw/1KiB", func(b *testing.B) {
		run(b, func(ctx context.Context) ([]byte, error) { return client.Get(ctx, key).Bytes() })
	})
	b.Run("raw-reqctx/1KiB", func(b *testing.B) {
		run(b, func(context.Context) ([]byte, error) { return client.Get(reqCtx, key).Bytes() })
	})
}

// BenchmarkRedisSet is BenchmarkRedisGet for Set.
func BenchmarkRedisSet(b *testing.B) {
	srv := redistest.Start(b)
	client := srv.Client(b)
	r, err := redisstore.New(client, redisstore.Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	const key = "strata:{bench}:0:v:1"
	val := make([]byte, 1<<10)
	reqCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, v := range []struct {
		name string
		set  func() error
	}{
		{"store-reqctx/1KiB", func() error { return r.Set(reqCtx, key, val, time.Hour) }},
		{"raw-reqctx/1KiB", func() error { return client.Set(reqCtx, key, val, time.Hour).Err() }},
	} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(1 << 10)
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if err := v.set(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU starts measuring the process's CPU time; the function it returns reports it
// per operation as cpu-ns/op.
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
