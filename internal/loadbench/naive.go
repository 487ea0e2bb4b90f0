package main

import (
	"context"
	"net/http"
	"time"

	"github.com/allegro/bigcache/v3"
	"github.com/redis/go-redis/v9"
)

// The naive middlewares: what an application writes in sixty lines when it wants "a cache"
// and no RFC 9111 (no Cache-Control, Vary, validators, Age, Cache-Status, stampede
// protection or invalidation). The request URI is the key; a 200 answer's Content-Type and
// body are stored for ttl, as [len(Content-Type)] Content-Type body.

// naiveStore is the tier a naive middleware keeps its answers in.
type naiveStore interface {
	get(ctx context.Context, key string) ([]byte, bool)
	set(ctx context.Context, key string, v []byte)
}

// naiveMiddleware caches GET answers in s.
func naiveMiddleware(s naiveStore) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet {
				next.ServeHTTP(w, r)
				return
			}
			key := r.URL.RequestURI()
			if v, ok := s.get(r.Context(), key); ok && len(v) > 0 && len(v) > int(v[0]) {
				n := 1 + int(v[0])
				w.Header().Set("Content-Type", string(v[1:n]))
				_, _ = w.Write(v[n:])
				return
			}
			rec := &naiveRecorder{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(rec, r)
			ct := w.Header().Get("Content-Type")
			if rec.status == http.StatusOK && len(ct) < 256 {
				v := append(append([]byte{byte(len(ct))}, ct...), rec.body...)
				s.set(r.Context(), key, v)
			}
		})
	}
}

// naiveRecorder passes the answer through and keeps a copy of its body.
type naiveRecorder struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (w *naiveRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *naiveRecorder) Write(p []byte) (int, error) {
	w.body = append(w.body, p...)
	return w.ResponseWriter.Write(p)
}

// naiveBigcache is the in-process tier: bigcache sized like Strata's default L1 (64 MiB in
// 256 shards, grown on demand). DefaultConfig alone would preallocate 286 MiB (600,000 ×
// 500 bytes), which the GC counts as live heap: collections become so rare that almost every
// allocation lands on fresh memory, and the row measured page faults, not the middleware.
type naiveBigcache struct{ c *bigcache.BigCache }

func newNaiveBigcache(ttl time.Duration) (naiveBigcache, error) {
	cfg := bigcache.DefaultConfig(ttl)
	cfg.Shards = 256
	cfg.MaxEntriesInWindow = 0 // 10 entries of MaxEntrySize per shard to start with
	cfg.HardMaxCacheSize = 64  // MiB
	c, err := bigcache.New(context.Background(), cfg)
	return naiveBigcache{c}, err
}

func (b naiveBigcache) get(_ context.Context, key string) ([]byte, bool) {
	v, err := b.c.Get(key)
	return v, err == nil
}

func (b naiveBigcache) set(_ context.Context, key string, v []byte) { _ = b.c.Set(key, v) }

// naiveRedis is the shared tier: every hit is one go-redis GET.
type naiveRedis struct {
	c   *redis.Client
	ttl time.Duration
}

func (n naiveRedis) get(ctx context.Context, key string) ([]byte, bool) {
	v, err := n.c.Get(ctx, "naive:"+key).Bytes()
	return v, err == nil
}

func (n naiveRedis) set(ctx context.Context, key string, v []byte) {
	_ = n.c.Set(ctx, "naive:"+key, v, n.ttl).Err()
}
