package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Catalogue holds the products: in memory, or in Redis when the example runs with -redis, so
// that several example processes share one catalogue, as real instances share a database.
type Catalogue interface {
	Get(ctx context.Context, id int) (Product, bool, error)
	List(ctx context.Context, category string) ([]Product, error)
	Update(ctx context.Context, id int, fn func(*Product)) (Product, bool, error)
}

func seed() []Product {
	ps := make([]Product, 0, 100)
	for i := 1; i <= 100; i++ {
		ps = append(ps, Product{ID: i, Name: fmt.Sprintf("Product %d", i),
			Category: categories[i%len(categories)], Price: float64(i*100+99) / 100, Version: 1})
	}
	return ps
}

// memCatalogue is the in-process catalogue.
type memCatalogue struct {
	mu sync.RWMutex
	m  map[int]Product
}

// NewMemCatalogue returns products 1–100 in memory.
func NewMemCatalogue() Catalogue {
	c := &memCatalogue{m: make(map[int]Product)}
	for _, p := range seed() {
		c.m[p.ID] = p
	}
	return c
}

func (c *memCatalogue) Get(_ context.Context, id int) (Product, bool, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.m[id]
	return p, ok, nil
}

func (c *memCatalogue) List(_ context.Context, category string) ([]Product, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	list := []Product{}
	for _, p := range c.m {
		if category == "" || p.Category == category {
			list = append(list, p)
		}
	}
	slices.SortFunc(list, func(x, y Product) int { return x.ID - y.ID })
	return list, nil
}

func (c *memCatalogue) Update(_ context.Context, id int, fn func(*Product)) (Product, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[id]
	if !ok {
		return p, false, nil
	}
	fn(&p)
	c.m[id] = p
	return p, true, nil
}

// redisCatalogue keeps each product as JSON under demo:product:<id>.
type redisCatalogue struct{ c redis.UniversalClient }

// NewRedisCatalogue seeds products 1–100 into Redis where they are missing.
func NewRedisCatalogue(ctx context.Context, url string) (Catalogue, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	c := &redisCatalogue{c: redis.NewClient(opts)}
	pipe := c.c.Pipeline()
	for _, p := range seed() {
		b, _ := json.Marshal(p)
		pipe.SetNX(ctx, pkey(p.ID), b, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("demo: seeding the catalogue: %w", err)
	}
	return c, nil
}

func pkey(id int) string { return "demo:product:" + strconv.Itoa(id) }

func (c *redisCatalogue) Get(ctx context.Context, id int) (Product, bool, error) {
	var p Product
	b, err := c.c.Get(ctx, pkey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return p, false, nil
	}
	if err != nil {
		return p, false, err
	}
	return p, true, json.Unmarshal(b, &p)
}

func (c *redisCatalogue) List(ctx context.Context, category string) ([]Product, error) {
	keys := make([]string, 0, 100)
	for i := 1; i <= 100; i++ {
		keys = append(keys, pkey(i))
	}
	vals, err := c.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	list := []Product{}
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		var p Product
		if json.Unmarshal([]byte(s), &p) == nil && (category == "" || p.Category == category) {
			list = append(list, p)
		}
	}
	return list, nil
}

func (c *redisCatalogue) Update(ctx context.Context, id int, fn func(*Product)) (Product, bool, error) {
	var out Product
	found := false
	err := c.c.Watch(ctx, func(tx *redis.Tx) error {
		b, err := tx.Get(ctx, pkey(id)).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &out); err != nil {
			return err
		}
		fn(&out)
		found = true
		nb, _ := json.Marshal(out)
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, pkey(id), nb, 0)
			return nil
		})
		return err
	}, pkey(id))
	return out, found, err
}
