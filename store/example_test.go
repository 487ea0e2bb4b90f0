package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/store"
)

func ExampleNewL1() {
	l1, err := store.NewL1(store.L1Config{MaxBytes: 16 << 20}) // other fields: defaults
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = l1.Close() }()
	ctx := context.Background()

	_ = l1.Set(ctx, "greeting", []byte("hello"), time.Minute)
	v, err := l1.Get(ctx, "greeting")
	fmt.Printf("%s %v\n", v, err)

	_, err = l1.Get(ctx, "missing")
	fmt.Println(errors.Is(err, store.ErrNotFound))

	err = l1.Set(ctx, "big", make([]byte, 1<<20), time.Minute)
	fmt.Println(errors.Is(err, store.ErrTooLarge))
	// Output:
	// hello <nil>
	// true
	// true
}

// An L1 whose clock is injected: entries expire without sleeping.
func ExampleL1Config_clock() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	l1, _ := store.NewL1(store.L1Config{Clock: func() time.Time { return now }})
	defer func() { _ = l1.Close() }()
	ctx := context.Background()

	_ = l1.Set(ctx, "k", []byte("v"), 10*time.Second)
	now = now.Add(10 * time.Second)
	_, err := l1.Get(ctx, "k")
	fmt.Println(err)
	// Output:
	// store: not found
}

func ExampleNewRedis() {
	client := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true, // lets the per-call Timeout bound socket reads
	})
	defer func() { _ = client.Close() }()

	l2, err := store.NewRedis(client, store.RedisOptions{
		Prefix:  "myapp",
		Timeout: 30 * time.Millisecond,
		Logger:  slog.Default(),
		OnReconnect: func() {
			// invalidation messages may have been missed: clear the L1
		},
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
		// Redis is down or slow (ErrUnavailable, ErrTimeout...): bypass it
	}

	stop := l2.Subscribe(func(msg []byte) { fmt.Printf("invalidate %s\n", msg) })
	defer stop()
	_ = l2.Publish(ctx, []byte("/products/1"))
}

func ExampleRedis_Lock() {
	l2, err := store.NewRedisFromURL("redis://127.0.0.1:6379/0", store.RedisOptions{})
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
