package appcache_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/strata-cache/strata/appcache"
)

type Product struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Price int    `json:"price"`
}

// db is a fake source of truth.
type db struct {
	mu    sync.Mutex
	rows  map[int]Product
	reads int
}

func (d *db) get(id int) (Product, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reads++
	p, ok := d.rows[id]
	if !ok {
		return Product{}, fmt.Errorf("product %d: %w", id, appcache.ErrNotFound)
	}
	return p, nil
}

func (d *db) put(p Product) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rows[p.ID] = p
}

func newDB() *db { return &db{rows: map[int]Product{1: {1, "lamp", 30}}} }

// Cache-aside / read-through: the loader runs once, then the value is served from memory. In
// production give Options.L2 (and so the fleet) a *redisstore.Store.
func ExampleCache_Fetch() {
	d := newDB()
	c, _ := appcache.New(appcache.Options[Product]{Namespace: "products", Version: 1, TTL: time.Minute})
	defer func() { _ = c.Close() }()
	ctx := context.Background()
	for range 3 {
		p, err := c.Fetch(ctx, "1", func(context.Context) (Product, error) { return d.get(1) })
		fmt.Println(p.Name, err)
	}
	fmt.Println("database reads:", d.reads)
	// Output:
	// lamp <nil>
	// lamp <nil>
	// lamp <nil>
	// database reads: 1
}

// Negative caching: a loader that returns ErrNotFound caches the absence.
func ExampleCache_Fetch_negative() {
	d := newDB()
	c, _ := appcache.New(appcache.Options[Product]{NegativeTTL: 10 * time.Second})
	defer func() { _ = c.Close() }()
	for range 3 {
		_, err := c.Fetch(context.Background(), "404", func(context.Context) (Product, error) { return d.get(404) })
		fmt.Println(errors.Is(err, appcache.ErrNotFound))
	}
	fmt.Println("database reads:", d.reads)
	// Output:
	// true
	// true
	// true
	// database reads: 1
}

// The batch form: one loader call (one query with an IN list) for the keys nothing cached.
// Keys the loader leaves out have no value: they are absent from the result and their absence
// is cached.
func ExampleCache_FetchMany() {
	d := newDB()
	d.put(Product{2, "desk", 120})
	c, _ := appcache.New(appcache.Options[Product]{})
	defer func() { _ = c.Close() }()
	ctx := context.Background()
	_, _ = c.Fetch(ctx, "1", func(context.Context) (Product, error) { return d.get(1) })
	load := func(_ context.Context, keys []string) (map[string]Product, error) {
		fmt.Println("loading", keys)
		m := make(map[string]Product)
		for _, k := range keys {
			id, _ := strconv.Atoi(k)
			if p, err := d.get(id); err == nil {
				m[k] = p
			}
		}
		return m, nil
	}
	for range 2 {
		ps, err := c.FetchMany(ctx, []string{"1", "2", "3"}, load)
		fmt.Println(ps["1"].Name, ps["2"].Name, len(ps), err)
	}
	// Output:
	// loading [2 3]
	// lamp desk 2 <nil>
	// lamp desk 2 <nil>
}

// Write-through: the database first, then the cache, and every other instance's L1 dropped.
func ExampleCache_Set() {
	d := newDB()
	c, _ := appcache.New(appcache.Options[Product]{})
	defer func() { _ = c.Close() }()
	ctx := context.Background()
	load := func(context.Context) (Product, error) { return d.get(1) }
	_, _ = c.Fetch(ctx, "1", load)
	p := Product{1, "lamp", 25}
	err := c.Set(ctx, "1", p, func(context.Context) error { d.put(p); return nil })
	fmt.Println(err)
	got, _ := c.Fetch(ctx, "1", load)
	fmt.Println(got.Price, "database reads:", d.reads)
	// Output:
	// <nil>
	// 25 database reads: 1
}

// Write-behind: the cache answers the new value at once; the database gets it in batches,
// and Close flushes what is left.
func ExampleCache_SetBehind() {
	d := newDB()
	c, _ := appcache.New(appcache.Options[Product]{WriteBehind: &appcache.WriteBehind[Product]{
		Flush: func(_ context.Context, batch []appcache.Pending[Product]) error {
			for _, w := range batch {
				d.put(w.Value)
			}
			fmt.Println("flushed", len(batch))
			return nil
		},
		Interval: time.Hour,
		Policy:   appcache.Drop,
	}})
	ctx := context.Background()
	for price := 20; price <= 22; price++ {
		_ = c.SetBehind(ctx, "1", Product{1, "lamp", price}) // coalesced: one pending write
	}
	p, _ := c.Fetch(ctx, "1", func(context.Context) (Product, error) { return d.get(1) })
	fmt.Println("cache:", p.Price)
	_ = c.Close()
	fmt.Println("database:", d.rows[1].Price, "coalesced:", c.Stats().WriteBehind.Coalesced)
	// Output:
	// cache: 22
	// flushed 1
	// database: 22 coalesced: 2
}

// Invalidation by key and by tag. With a fleet, both reach every instance; InvalidateTags
// also purges the HTTP cache's responses under the tags (and Options.Also).
func ExampleCache_InvalidateTags() {
	d := newDB()
	c, _ := appcache.New(appcache.Options[Product]{
		Tags: func(_ string, p Product) []string { return []string{fmt.Sprintf("product:%d", p.ID)} },
	})
	defer func() { _ = c.Close() }()
	ctx := context.Background()
	load := func(context.Context) (Product, error) { return d.get(1) }
	_, _ = c.Fetch(ctx, "1", load, appcache.WithTags("catalog"))
	n, _ := c.InvalidateTags(ctx, "catalog")
	fmt.Println("invalidated:", n)
	_, _ = c.Fetch(ctx, "1", load)
	_ = c.Invalidate(ctx, "1")
	_, _ = c.Fetch(ctx, "1", load)
	fmt.Println("database reads:", d.reads)
	// Output:
	// invalidated: 1
	// database reads: 3
}

// Stale-while-revalidate: past its TTL a value is answered at once while a background refresh
// replaces it.
func ExampleOptions_staleWhileRevalidate() {
	c, _ := appcache.New(appcache.Options[string]{
		TTL: 20 * time.Millisecond, Jitter: -1, Beta: -1, StaleWhileRevalidate: time.Minute,
	})
	defer func() { _ = c.Close() }()
	ctx := context.Background()
	var mu sync.Mutex
	version := "v1"
	load := func(context.Context) (string, error) { mu.Lock(); defer mu.Unlock(); return version, nil }
	_, _ = c.Fetch(ctx, "k", load)
	mu.Lock()
	version = "v2"
	mu.Unlock()
	time.Sleep(30 * time.Millisecond)
	v, _ := c.Fetch(ctx, "k", load)
	fmt.Println("stale answer:", v)
	for v != "v2" {
		time.Sleep(time.Millisecond)
		v, _ = c.Fetch(ctx, "k", load)
	}
	fmt.Println("refreshed:", v)
	// Output:
	// stale answer: v1
	// refreshed: v2
}
