package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/redis/go-redis/v9"

	chicache "github.com/strata-cache/strata/adapters/chi"
	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/headers"
	"github.com/strata-cache/strata/store/redisstore"
)

// The servers under test. Each runs in its own process (this binary with -serve MODE), pinned
// to one CPU with GOMAXPROCS=1. They all answer GET /items/{id} with the same precomputed JSON
// body; the cached ones declare the demo API's product policy (public, max-age=10,
// s-maxage=60) through the adapter, as an application would.
type serverSpec struct {
	mode  string // -serve argument
	label string // table row
	redis bool   // needs the tool's redis-server
	cache bool   // a cache: its origin runs are reported
	peer  bool   // not Strata: no Cache-Status to check after the fill
}

var servers = []serverSpec{
	{mode: "bare", label: "net/http, bare"},
	{mode: "chi", label: "chi, bare"},
	{mode: "chi-replay", label: "chi, bare, replaying a Strata hit's header fields"},
	{mode: "strata-http", label: "Strata L1 (net/http)", cache: true},
	{mode: "strata-chi", label: "Strata+chi L1", cache: true},
	{mode: "strata-chi-nohot", label: "Strata+chi L1, hot set off (HotBytes -1)", cache: true},
	{mode: "strata-chi-l2", label: "Strata+chi L1+L2", redis: true, cache: true},
	{mode: "redis-get", label: "chi + go-redis GET", redis: true},
	{mode: "strata-l2", label: "Strata+chi L2 only", redis: true, cache: true},
	{mode: "strata-l2-nodeadline", label: "Strata+chi L2 only, client without ContextTimeoutEnabled", redis: true, cache: true},

	// Peers: what a user might pick instead (peers.go, naive.go).
	{mode: "naive-bigcache", label: "chi + naive bigcache middleware (no RFC logic)", cache: true, peer: true},
	{mode: "naive-redis", label: "chi + naive middleware, every hit a go-redis GET", redis: true, cache: true, peer: true},
	{mode: "chi-stampede", label: "chi + go-chi/stampede", cache: true, peer: true},
	{mode: "gin", label: "gin, bare"},
	{mode: "gin-cache", label: "gin + chenyahui/gin-cache (memory)", cache: true, peer: true},
}

// itemPolicy is the demo API's product policy.
var itemPolicy = headers.Public(10 * time.Second).SMaxAge(time.Minute)

const itemRoute = "/items/{id}"

// jsonBody returns n bytes of JSON, the precomputed answer of every server.
func jsonBody(n int) []byte {
	b := make([]byte, 0, n)
	b = append(b, `{"id":1,"name":"widget","category":"tools","price":1999,"version":1,"pad":"`...)
	for len(b) < n-2 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)[:n]
}

// serveMain runs one server until SIGTERM/SIGINT, then prints "RUNS <n>", the number of
// origin handler runs.
//
// With cpuProfile set it writes a CPU profile of its whole life there (go tool pprof).
func serveMain(mode, redisAddr string, bodySize, keys int, delay time.Duration, cpuProfile string) error {
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	body := jsonBody(bodySize)
	var runs atomic.Int64
	origin := func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}

	var rdb *redis.Client
	if redisAddr != "" {
		// Strata's client honours context deadlines, as the one redisstore.NewFromURL builds does
		// (and internal/redistest's); without it the store runs every call on a helper
		// goroutine to enforce its timeout, which the -nodeadline row shows.
		rdb = redis.NewClient(&redis.Options{Addr: redisAddr, ContextTimeoutEnabled: mode != "strata-l2-nodeadline" && mode != "redis-get" && mode != "naive-redis"})
		defer func() { _ = rdb.Close() }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err != nil {
			return fmt.Errorf("redis %s: %w", redisAddr, err)
		}
	}
	newCache := func(cfg core.Config) (*core.Cache, error) {
		if rdb != nil {
			rs, err := redisstore.New(rdb, redisstore.Options{})
			if err != nil {
				return nil, err
			}
			cfg.L2 = rs
		}
		return core.New(cfg)
	}

	var h http.Handler
	var cache *core.Cache
	var err error
	switch mode {
	case "bare":
		h = http.HandlerFunc(origin)
	case "chi":
		r := chi.NewRouter()
		r.Get(itemRoute, origin)
		h = r
	case "chi-replay":
		// The bytes of a Strata L1 hit of itemPolicy (its header fields, values included),
		// written by a plain handler: what the cache adds beyond the answer it must send.
		etag := `"IpE31NTc2_WT7-xpCcGLAQ"`
		clen := strconv.Itoa(len(body))
		r := chi.NewRouter()
		r.Get(itemRoute, func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			h := w.Header()
			h["Age"] = []string{"0"}
			h["Cache-Control"] = []string{"public, max-age=10, s-maxage=60"}
			h["Cache-Status"] = []string{"strata; hit; ttl=59"}
			h["Content-Length"] = []string{clen}
			h["Content-Type"] = []string{"application/json"}
			h["Etag"] = []string{etag}
			_, _ = w.Write(body)
		})
		h = r
	case "strata-http":
		if cache, err = newCache(core.Config{}); err != nil {
			return err
		}
		h = cache.Middleware(core.PolicyMiddleware(itemPolicy)(http.HandlerFunc(origin)))
	case "strata-chi", "strata-chi-nohot", "strata-chi-l2", "strata-l2", "strata-l2-nodeadline":
		cfg := core.Config{}
		if mode == "strata-chi-nohot" {
			cfg.HotBytes = -1
		}
		if mode == "strata-l2" || mode == "strata-l2-nodeadline" {
			cfg.DisableL1 = true
		}
		l1Only := mode == "strata-chi" || mode == "strata-chi-nohot"
		if !l1Only && rdb == nil {
			return errors.New(mode + " needs -redis")
		}
		if l1Only {
			rdb = nil
		}
		if cache, err = newCache(cfg); err != nil {
			return err
		}
		r := chi.NewRouter()
		r.Use(chicache.Middleware(cache))
		r.With(chicache.Policy(itemPolicy)).Get(itemRoute, origin)
		h = r
	case "redis-get":
		if rdb == nil {
			return errors.New("redis-get needs -redis")
		}
		// The comparison for the L2 tier: one plain GET per request, no cache logic.
		ctx := context.Background()
		for i := range keys {
			if err := rdb.Set(ctx, redisItemKey(strconv.Itoa(i)), body, 0).Err(); err != nil {
				return err
			}
		}
		r := chi.NewRouter()
		r.Get(itemRoute, func(w http.ResponseWriter, r *http.Request) {
			v, err := rdb.Get(r.Context(), redisItemKey(chi.URLParam(r, "id"))).Bytes()
			if err != nil {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(v)
		})
		h = r
	case "stampede", "stampede-l2":
		// A cold key whose handler takes delay; /warm opens connections without the cache.
		if mode == "stampede" {
			rdb = nil
		}
		if cache, err = newCache(core.Config{}); err != nil {
			return err
		}
		r := chi.NewRouter()
		r.Get("/warm", func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(20 * time.Millisecond)
			w.WriteHeader(http.StatusNoContent)
		})
		r.With(chicache.Middleware(cache), chicache.Policy(itemPolicy)).Get("/slow/{id}", func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			time.Sleep(delay)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		})
		h = r
	default:
		if mode == "naive-redis" && rdb == nil {
			return errors.New("naive-redis needs -redis")
		}
		if h, err = peerHandler(mode, origin, rdb); err != nil {
			return err
		}
		if h == nil {
			return fmt.Errorf("unknown -serve mode %q", mode)
		}
	}
	if cache != nil {
		defer func() { _ = cache.Close() }()
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Printf("ADDR %s\n", ln.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
	case err := <-errc:
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	fmt.Printf("RUNS %d\n", runs.Load())
	return nil
}

func redisItemKey(id string) string { return "loadbench:item:" + id }
