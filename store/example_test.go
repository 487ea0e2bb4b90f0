package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

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
