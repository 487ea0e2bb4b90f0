package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/store"
	"github.com/strata-cache/strata/store/redisstore"
)

func ExampleNew() {
	client := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true, // lets the per-call Timeout bound socket reads
	})
	defer func() { _ = client.Close() }()

	l2, err := redisstore.New(client, redisstore.Options{
		Prefix:  "myapp",
		Timeout: 30 * time.Millisecond,
		Logger:  slog.Default(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = l2.Close() }()
	ctx := context.Background()

	switch v, err := l2.Get(ctx, "myapp:{k}:0:v:0"); {
	case err == nil:
		fmt.Printf("hit: %d bytes\n", len(v))
	case errors.Is(err, store.ErrNotFound):
		fmt.Println("miss")
	case ctx.Err() != nil:
		// the caller went away: do not run the origin
	default:
		// Redis is down or slow (store.ErrUnavailable, store.ErrTimeout...): bypass it
	}

	stop := l2.Subscribe(func(msg []byte) { fmt.Printf("invalidate %s\n", msg) }, func(bool) {
		// invalidation messages may have been (or be) missed: clear the L1
	})
	defer stop()
	_ = l2.Publish(ctx, []byte("/products/1"))
}

func ExampleStore_Lock() {
	l2, err := redisstore.NewFromURL("redis://127.0.0.1:6379/0", redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = l2.Close() }()
	ctx := context.Background()

	token, ok, err := l2.Lock(ctx, "myapp:{k}:lock", 5*time.Second)
	if err != nil || !ok {
		return // someone else is computing it (or Redis is out): wait or go on
	}
	defer func() { _ = l2.Unlock(ctx, "myapp:{k}:lock", token) }()
	// ... compute and store the value ...
}
