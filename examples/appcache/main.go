// Command appcache is a small product service whose handlers load products through
// appcache, Strata's typed value cache, from a deliberately slow database (every query sleeps
// -delay). Run two instances on one Redis to see stampede protection, negative caching,
// write-through and tag invalidation across a fleet (README.md, "Application cache", and
// examples/appcache/README.md):
//
//	go run ./examples/appcache                      # one instance, L1 only, in-process database
//	go run ./examples/appcache -addr 127.0.0.1:8081 -redis redis://127.0.0.1:6379/0
//	go run ./examples/appcache -addr 127.0.0.1:8082 -redis redis://127.0.0.1:6379/0
//
// With -redis the cache's L2, fill lock, bus and tag index are that Redis, and the database
// is Redis database 1 of the same server (or -db), shared by the instances; without it each
// instance has its own L1 and its own in-process database.
//
// Routes:
//
//	GET  /products/{id}     one product (Fetch); 404, cached for -negative-ttl, when there is none
//	GET  /products?ids=1,2  several (FetchMany: one query for those no tier holds)
//	PUT  /products/{id}     write-through: the database, then the cache, then every instance's L1
//	POST /purge?tag=…       InvalidateTags: "product:<id>" or "category:<name>", fleet-wide
//	GET  /stats             database queries and rows read by this instance, the cache's counters
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/appcache"
	"github.com/strata-cache/strata/store/redisstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// config is the command line.
type config struct {
	addr, redis, db      string
	delay, ttl, negative time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("appcache", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8081", "listen address")
	fs.StringVar(&c.redis, "redis", os.Getenv("REDIS_URL"), "redis:// URL of the shared L2 and fleet (empty: L1 only; env REDIS_URL)")
	fs.StringVar(&c.db, "db", "", "redis:// URL of the fake database (default: database 1 of -redis; without -redis, an in-process map)")
	fs.DurationVar(&c.delay, "delay", 100*time.Millisecond, "how long each database query takes")
	fs.DurationVar(&c.ttl, "ttl", time.Minute, "how long a loaded product is fresh")
	fs.DurationVar(&c.negative, "negative-ttl", 10*time.Second, "how long a missing product's absence is cached")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("appcache: unexpected arguments %q", fs.Args())
	}
	if c.delay < 0 || c.ttl <= 0 || c.negative <= 0 {
		return c, errors.New("appcache: -delay must not be negative, -ttl and -negative-ttl must be positive")
	}
	return c, nil
}

// run serves until ctx ends. It prints the address it listens on (useful with -addr
// 127.0.0.1:0) to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	s, err := newService(ctx, c)
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(stdout, "appcache example on http://%s (%s; database: %s, %s a query)\n", ln.Addr(), s.tiers, s.dbName, c.delay)
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// service is the product API over the value cache.
type service struct {
	products      *appcache.Cache[Product]
	db            *slowDB
	l2            *redisstore.Store // nil without -redis
	rdb           *redisDB          // nil with the in-process database
	tiers, dbName string
}

func newService(ctx context.Context, c config) (s *service, err error) {
	s = &service{db: &slowDB{delay: c.delay}, tiers: "L1 only", dbName: "in-process"}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	o := appcache.Options[Product]{
		Namespace: "products", Version: 1, // a new Version when Product changes
		TTL: c.ttl, NegativeTTL: c.negative,
		// Every product is indexed under its id and its category, for POST /purge.
		Tags: func(id string, p Product) []string { return []string{"product:" + id, "category:" + p.Category} },
	}
	var dbOpts *redis.Options
	if c.redis != "" {
		if s.l2, err = redisstore.NewFromURL(c.redis, redisstore.Options{}); err != nil {
			return s, err
		}
		o.L2 = s.l2 // the L2, and the fleet: fill lock, bus, tag index
		s.tiers = "L1 + Redis L2"
		if dbOpts, err = redis.ParseURL(c.redis); err != nil {
			return s, err
		}
		dbOpts.DB = 1
	}
	if c.db != "" {
		if dbOpts, err = redis.ParseURL(c.db); err != nil {
			return s, fmt.Errorf("-db: %w", err)
		}
	}
	if dbOpts != nil {
		if s.rdb, err = newRedisDB(ctx, dbOpts); err != nil {
			return s, err
		}
		s.db.db = s.rdb
		s.dbName = fmt.Sprintf("redis %s db %d", dbOpts.Addr, dbOpts.DB)
	} else {
		s.db.db = newMemDB()
	}
	s.products, err = appcache.New(o)
	return s, err
}

// Close closes the cache, then the stores under it.
func (s *service) Close() error {
	var errs []error
	if s.products != nil {
		errs = append(errs, s.products.Close())
	}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.l2 != nil {
		errs = append(errs, s.l2.Close())
	}
	return errors.Join(errs...)
}

func (s *service) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /products/{id}", s.getProduct)
	mux.HandleFunc("GET /products", s.getProducts)
	mux.HandleFunc("PUT /products/{id}", s.putProduct)
	mux.HandleFunc("POST /purge", s.purge)
	mux.HandleFunc("GET /stats", s.stats)
	return mux
}

func (s *service) getProduct(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p, err := s.products.Fetch(r.Context(), id, func(ctx context.Context) (Product, error) {
		return s.db.one(ctx, id) // an error wrapping appcache.ErrNotFound when there is none
	})
	switch {
	case errors.Is(err, appcache.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no product " + id})
	case err != nil:
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
	default:
		writeJSON(w, http.StatusOK, p)
	}
}

// getProducts answers ?ids=1,2,3 with the products that exist, in that order: one database
// query for the ids no tier holds.
func (s *service) getProducts(w http.ResponseWriter, r *http.Request) {
	var ids []string
	for id := range strings.SplitSeq(r.URL.Query().Get("ids"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || len(ids) > 100 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want ?ids=1,2,… (1 to 100 ids)"})
		return
	}
	m, err := s.products.FetchMany(r.Context(), ids, s.db.get) // ids it leaves out: cached as absent
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	out := struct {
		Products []Product `json:"products"`
		Missing  []string  `json:"missing"`
	}{Products: []Product{}, Missing: []string{}}
	for _, id := range ids {
		if p, ok := m[id]; ok {
			out.Products = append(out.Products, p)
		} else {
			out.Missing = append(out.Missing, id)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *service) putProduct(w http.ResponseWriter, r *http.Request) {
	var p Product
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&p); err != nil || p.Name == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `want {"name":…,"category":…,"price":…}`})
		return
	}
	p.ID = r.PathValue("id")
	err := s.products.Set(r.Context(), p.ID, p, func(ctx context.Context) error { return s.db.put(ctx, p) })
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *service) purge(w http.ResponseWriter, r *http.Request) {
	tag := r.URL.Query().Get("tag")
	if tag == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want ?tag=product:<id> or ?tag=category:<name>"})
		return
	}
	n, err := s.products.InvalidateTags(r.Context(), tag)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"invalidated": n})
}

// statsBody is GET /stats.
type statsBody struct {
	Loads    int64          `json:"loads"`     // database queries this instance ran (loader calls)
	RowsRead int64          `json:"rows_read"` // rows they asked for
	Cache    appcache.Stats `json:"cache"`
}

func (s *service) stats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, statsBody{Loads: s.db.calls.Load(), RowsRead: s.db.reads.Load(), Cache: s.products.Stats()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
