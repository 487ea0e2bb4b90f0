package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/appcache"
)

// Product is a row of the fake database.
type Product struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Price    int    `json:"price"` // cents
}

// seed is the catalogue every database starts with.
var seed = []Product{
	{"1", "Halden desk lamp", "lamps", 3950},
	{"2", "Fjord floor lamp", "lamps", 8900},
	{"3", "Oak desk", "desks", 24900},
	{"4", "Birch shelf", "shelves", 6900},
	{"5", "Linen cushion", "textiles", 1900},
}

// db is the slow source of truth: every read sleeps delay first (a query over a slow
// network), and is counted, so the cache's work shows in /stats.
type db interface {
	get(ctx context.Context, ids []string) (map[string]Product, error)
	put(ctx context.Context, p Product) error
}

// slowDB wraps a db with the delay and the read counters.
type slowDB struct {
	db
	delay        time.Duration
	reads, calls atomic.Int64 // rows read, queries run
}

func (s *slowDB) get(ctx context.Context, ids []string) (map[string]Product, error) {
	s.calls.Add(1)
	s.reads.Add(int64(len(ids)))
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.db.get(ctx, ids)
}

// one returns the product id, or an error wrapping appcache.ErrNotFound.
func (s *slowDB) one(ctx context.Context, id string) (Product, error) {
	m, err := s.get(ctx, []string{id})
	if err != nil {
		return Product{}, err
	}
	p, ok := m[id]
	if !ok {
		return Product{}, fmt.Errorf("product %q: %w", id, appcache.ErrNotFound)
	}
	return p, nil
}

// memDB is an in-process table: one instance's own database.
type memDB struct {
	mu   sync.Mutex
	rows map[string]Product
}

func newMemDB() *memDB {
	d := &memDB{rows: make(map[string]Product)}
	for _, p := range seed {
		d.rows[p.ID] = p
	}
	return d
}

func (d *memDB) get(_ context.Context, ids []string) (map[string]Product, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := make(map[string]Product, len(ids))
	for _, id := range ids {
		if p, ok := d.rows[id]; ok {
			m[id] = p
		}
	}
	return m, nil
}

func (d *memDB) put(_ context.Context, p Product) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rows[p.ID] = p
	return nil
}

// redisDB is a table in a Redis database (one JSON value per row under "product:<id>"),
// shared by the instances of the walk-through.
type redisDB struct{ c *redis.Client }

func newRedisDB(ctx context.Context, o *redis.Options) (*redisDB, error) {
	d := &redisDB{c: redis.NewClient(o)}
	for _, p := range seed { // SETNX: a second instance keeps the first one's rows
		b, _ := json.Marshal(p)
		if err := d.c.SetNX(ctx, "product:"+p.ID, b, 0).Err(); err != nil {
			_ = d.c.Close()
			return nil, fmt.Errorf("-db: seeding: %w", err)
		}
	}
	return d, nil
}

func (d *redisDB) get(ctx context.Context, ids []string) (map[string]Product, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = "product:" + id
	}
	vals, err := d.c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, err
	}
	m := make(map[string]Product, len(ids))
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // nil: no such row
		}
		var p Product
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			return nil, fmt.Errorf("product %q: %w", ids[i], err)
		}
		m[ids[i]] = p
	}
	return m, nil
}

func (d *redisDB) put(ctx context.Context, p Product) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return d.c.Set(ctx, "product:"+p.ID, b, 0).Err()
}

func (d *redisDB) Close() error { return d.c.Close() }
