package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Catalogue holds the products: in memory, or in a Redis database (-db, by default database 1
// of the -redis server), so that several example processes share one catalogue, as real
// instances share a database. The catalogue is the origin's database, not the cache: the
// demo runs, and serves what it can, with the cache's Redis down.
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

// ErrCatalogueUnavailable is what a Redis catalogue answers until it has reached its
// database once (it keeps trying in the background): the demo answers 503 meanwhile.
var ErrCatalogueUnavailable = errors.New("demo: the catalogue database is not reachable yet")

// updateAttempts bounds the optimistic transactions of one Update: each attempt that loses
// to a concurrent writer (redis.TxFailedErr) is retried, after a short random pause.
const updateAttempts = 100

// redisCatalogue keeps each product as JSON under demo:product:<id>, in the database of its
// URL: the origin's database, which the demo keeps apart from the cache's Redis (-db).
type redisCatalogue struct {
	c     *redis.Client
	url   string // for logs, without its password
	ready atomic.Bool
	stop  context.CancelFunc
	done  chan struct{}
}

// NewRedisCatalogue opens the catalogue at url and seeds products 1–100 where they are
// missing. It tries once (for at most seedTimeout) before it returns, and when the database
// cannot be reached it does not fail: it keeps trying in the background (logging once, and
// again when it succeeds), and every call answers ErrCatalogueUnavailable meanwhile. Close
// stops it and closes the client.
func NewRedisCatalogue(url string, logger *slog.Logger) (Catalogue, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("demo: catalogue URL: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &redisCatalogue{c: redis.NewClient(opts), url: redactURL(url), stop: cancel, done: make(chan struct{})}
	err = c.seed(ctx)
	if err == nil {
		c.ready.Store(true)
		close(c.done)
		return c, nil
	}
	logger.Warn("demo: catalogue database unreachable; retrying in the background, catalogue routes answer 503 meanwhile",
		"db", c.url, "err", err)
	go c.seedLoop(ctx, logger)
	return c, nil
}

// seedTimeout bounds one seeding attempt.
const seedTimeout = 2 * time.Second

// seedLoop seeds the catalogue, retrying with backoff (50 ms doubling to 2 s) until it is
// done or the catalogue is closed.
func (c *redisCatalogue) seedLoop(ctx context.Context, logger *slog.Logger) {
	defer close(c.done)
	backoff := 50 * time.Millisecond
	for {
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
		if err := c.seed(ctx); err == nil {
			c.ready.Store(true)
			logger.Warn("demo: catalogue database reachable, catalogue routes serve again", "db", c.url)
			return
		}
	}
}

func (c *redisCatalogue) seed(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, seedTimeout)
	defer cancel()
	pipe := c.c.Pipeline()
	for _, p := range seed() {
		b, _ := json.Marshal(p)
		pipe.SetNX(ctx, pkey(p.ID), b, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("demo: seeding the catalogue: %w", err)
	}
	return nil
}

// Ready reports whether the catalogue has reached its database.
func (c *redisCatalogue) Ready() bool { return c.ready.Load() }

// Close stops the seeding and closes the client.
func (c *redisCatalogue) Close() error {
	c.stop()
	<-c.done
	return c.c.Close()
}

func pkey(id int) string { return "demo:product:" + strconv.Itoa(id) }

func (c *redisCatalogue) Get(ctx context.Context, id int) (Product, bool, error) {
	var p Product
	if !c.ready.Load() {
		return p, false, ErrCatalogueUnavailable
	}
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
	if !c.ready.Load() {
		return nil, ErrCatalogueUnavailable
	}
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

// Update reads, changes and writes the product in an optimistic transaction (WATCH, then
// MULTI/EXEC). When another writer changed the product in between, EXEC fails with
// redis.TxFailedErr and the whole read-change-write runs again (fn included, on the fresh
// product), up to updateAttempts times, so concurrent PUTs of one product all succeed, one
// after the other.
func (c *redisCatalogue) Update(ctx context.Context, id int, fn func(*Product)) (Product, bool, error) {
	if !c.ready.Load() {
		return Product{}, false, ErrCatalogueUnavailable
	}
	var out Product
	found := false
	txf := func(tx *redis.Tx) error {
		found = false
		b, err := tx.Get(ctx, pkey(id)).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		out = Product{}
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
	}
	for attempt := 1; ; attempt++ {
		err := c.c.Watch(ctx, txf, pkey(id))
		if !errors.Is(err, redis.TxFailedErr) {
			return out, found, err
		}
		if attempt == updateAttempts {
			return Product{}, false, fmt.Errorf("demo: product %d: %d optimistic transactions lost to concurrent writers: %w", id, attempt, err)
		}
		// Lost to a concurrent writer: retry after a pause of up to 1 ms per attempt so far
		// (at most 10 ms), random so that the losers do not collide again in step.
		pause := time.Duration(rand.Int64N(int64(min(attempt, 10)) * int64(time.Millisecond))) //nolint:gosec // jitter, not a secret
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return Product{}, false, ctx.Err()
		case <-t.C:
		}
	}
}

// redactURL returns u without its password, for logs and the banner.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}
