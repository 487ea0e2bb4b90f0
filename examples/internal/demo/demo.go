// Package demo is the demo API that every example serves (README.md, "The demo API"): the
// product catalogue, the fail switch and the origin counters, written once and
// framework-neutral. Each handler returns a Reply; each example writes it with its
// framework's own calls.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/etag"
	"github.com/strata-cache/strata/headers"
	"github.com/strata-cache/strata/metrics"
	"github.com/strata-cache/strata/store/memcached"
	"github.com/strata-cache/strata/store/redisstore"
)

// Route patterns, as the routers spell them (the keys of /debug/origin).
const (
	RouteProduct  = "/products/{id}"
	RouteProducts = "/products"
	RouteMe       = "/me"
	RouteSlow     = "/slow"
	RouteClock    = "/clock"
)

// The route policies of the demo API.
var (
	ProductPolicy = headers.Public(10 * time.Second).SMaxAge(time.Minute).StaleWhileRevalidate(5 * time.Minute)
	ListPolicy    = headers.Public(0).SMaxAge(30 * time.Second)
	SlowPolicy    = headers.Public(0).SMaxAge(5 * time.Second)
	ClockPolicy   = headers.Public(0).SMaxAge(time.Second).StaleWhileRevalidate(30 * time.Second).StaleIfError(time.Minute)
	MePolicy      = headers.Private().NoCache()
)

// Product is one catalogue item.
type Product struct {
	ID       int     `json:"id"`
	Name     string  `json:"name"`
	Category string  `json:"category"`
	Price    float64 `json:"price"`
	Version  int     `json:"version"`
}

var categories = []string{"books", "games", "tools", "music", "garden"}

// App is the demo's state.
type App struct {
	Cache      *core.Cache
	AdminToken string
	SlowDelay  time.Duration

	Catalogue Catalogue

	fail     atomic.Bool
	originMu sync.Mutex
	origin   map[string]int
	users    map[string]string
}

// New returns the demo over an in-memory catalogue of products 1–100.
func New(cache *core.Cache) *App {
	return &App{
		Cache:      cache,
		Catalogue:  NewMemCatalogue(),
		AdminToken: os.Getenv("STRATA_ADMIN_TOKEN"),
		SlowDelay:  200 * time.Millisecond,
		origin:     make(map[string]int),
		users:      map[string]string{"alice-token": "alice", "bob-token": "bob"},
	}
}

// NewApp returns the demo for the flags: the catalogue lives at CatalogueURL(f), shared by
// every example process on it (as instances share a database), or in memory when that is
// empty. It does not wait for the catalogue's database (see NewRedisCatalogue), and never
// for the cache's Redis: the demo boots with either down. Close releases the catalogue.
func NewApp(cache *core.Cache, f Flags) (*App, error) {
	a := New(cache)
	db, err := CatalogueURL(f)
	if err != nil {
		return nil, err
	}
	if db != "" {
		logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		cat, err := NewRedisCatalogue(db, logger)
		if err != nil {
			return nil, err
		}
		a.Catalogue = cat
	}
	return a, nil
}

// Close releases the catalogue: it stops a Redis catalogue's background seeding and closes
// its client.
func (a *App) Close() error {
	if c, ok := a.Catalogue.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// CatalogueURL returns where the catalogue lives: -db when given; else, with -redis, database
// 1 of the -redis server (database 0 when -redis itself is on 1), so that two instances given
// the same -redis share one catalogue, apart from the cache's keys; else "" (in memory).
func CatalogueURL(f Flags) (string, error) {
	if f.DB != "" || f.Redis == "" {
		return f.DB, nil
	}
	if strings.Contains(f.Redis, "addr=") {
		return "", fmt.Errorf("demo: -redis %s is a cluster, whose only database is 0: give the catalogue a -db of its own", redactURL(f.Redis))
	}
	u, err := url.Parse(f.Redis)
	if err != nil {
		return "", fmt.Errorf("demo: -redis: %w", err)
	}
	other := func(db string) string {
		if db == "1" {
			return "0"
		}
		return "1"
	}
	switch u.Scheme {
	case "redis", "rediss":
		u.Path = "/" + other(strings.Trim(u.Path, "/"))
	case "unix":
		q := u.Query()
		q.Set("db", other(q.Get("db")))
		u.RawQuery = q.Encode()
	default:
		return "", fmt.Errorf("demo: -redis %s: want a redis://, rediss:// or unix:// URL", redactURL(f.Redis))
	}
	return u.String(), nil
}

// catalogueError answers a catalogue failure: 503, never stored, since the origin's database
// is what failed (ErrCatalogueUnavailable while it was never reached, or a failed call).
func catalogueError(err error) Reply {
	rep := jsonReply(http.StatusServiceUnavailable, map[string]string{"error": "catalogue unavailable: " + err.Error()})
	rep.Header.Set("Retry-After", "1")
	rep.Header.Set("Cache-Control", "no-store")
	return rep
}

// Reply is a framework-neutral answer.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte // JSON; nil for no body
}

func jsonReply(status int, v any) Reply {
	b, _ := json.Marshal(v)
	b = append(b, '\n')
	return Reply{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: b}
}

// Write sends a Reply through a net/http ResponseWriter.
func Write(w http.ResponseWriter, rep Reply) {
	h := w.Header()
	for k, v := range rep.Header {
		h[k] = v
	}
	w.WriteHeader(rep.Status)
	if rep.Body != nil {
		_, _ = w.Write(rep.Body)
	}
}

// originRun counts a handler run and reports whether the fail switch is on.
func (a *App) originRun(route string) (Reply, bool) {
	a.originMu.Lock()
	a.origin[route]++
	a.originMu.Unlock()
	if a.fail.Load() {
		return jsonReply(http.StatusInternalServerError, map[string]string{"error": "origin failing (debug switch)"}), true
	}
	return Reply{}, false
}

// ProductETag derives a strong validator from the product's version.
func ProductETag(p Product) string {
	return `"p` + strconv.Itoa(p.ID) + "-v" + strconv.Itoa(p.Version) + `"`
}

// GetProduct answers GET /products/{id}. r carries the request's conditional headers: a
// matching If-None-Match gets a 304 straight from the handler (cheap revalidation).
func (a *App) GetProduct(r *http.Request, idStr string) Reply {
	if rep, failed := a.originRun(RouteProduct); failed {
		return rep
	}
	id, err := strconv.Atoi(idStr)
	cp, ok, cerr := a.Catalogue.Get(r.Context(), id)
	if cerr != nil {
		return catalogueError(cerr)
	}
	if err != nil || !ok {
		return jsonReply(http.StatusNotFound, map[string]any{"error": "not found", "id": idStr})
	}
	tag := ProductETag(cp)
	rep := jsonReply(http.StatusOK, cp)
	rep.Header.Set("Etag", tag)
	rep.Header.Set("Surrogate-Key", headers.SurrogateKey([]string{"product:" + strconv.Itoa(cp.ID), "category:" + cp.Category}))
	if etag.Evaluate(r.Method, r.Header, tag, time.Time{}) == etag.Unmodified {
		rep.Status, rep.Body = http.StatusNotModified, nil
		rep.Header.Del("Content-Type")
	}
	return rep
}

// ListProducts answers GET /products?category=c.
func (a *App) ListProducts(ctx context.Context, category string) Reply {
	if rep, failed := a.originRun(RouteProducts); failed {
		return rep
	}
	list, err := a.Catalogue.List(ctx, category)
	if err != nil {
		return catalogueError(err)
	}
	rep := jsonReply(http.StatusOK, list)
	if category != "" {
		rep.Header.Set("Surrogate-Key", "category:"+category)
	}
	return rep
}

// UpdateProduct answers PUT /products/{id}: the JSON body's name, category and price replace
// the product's, its version goes up, and its tags are purged (the URL itself is invalidated
// by the cache, RFC 9111 §4.4).
func (a *App) UpdateProduct(r *http.Request, idStr string) Reply {
	id, err := strconv.Atoi(idStr)
	var patch struct {
		Name     *string  `json:"name"`
		Category *string  `json:"category"`
		Price    *float64 `json:"price"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16)).Decode(&patch); err != nil {
		return jsonReply(http.StatusBadRequest, map[string]string{"error": "bad JSON: " + err.Error()})
	}
	if patch.Category != nil && !slices.Contains(categories, *patch.Category) {
		return jsonReply(http.StatusBadRequest, map[string]string{"error": "unknown category"})
	}
	var oldCat string
	cp, ok, uerr := a.Catalogue.Update(r.Context(), id, func(p *Product) {
		oldCat = p.Category
		if patch.Name != nil {
			p.Name = *patch.Name
		}
		if patch.Category != nil {
			p.Category = *patch.Category
		}
		if patch.Price != nil {
			p.Price = *patch.Price
		}
		p.Version++
	})
	if uerr != nil {
		return catalogueError(uerr)
	}
	if err != nil || !ok {
		return jsonReply(http.StatusNotFound, map[string]any{"error": "not found", "id": idStr})
	}
	if a.Cache != nil {
		tags := []string{"product:" + idStr, "category:" + cp.Category}
		if oldCat != cp.Category {
			tags = append(tags, "category:"+oldCat)
		}
		_, _ = a.Cache.PurgeTags(r.Context(), tags...)
	}
	return jsonReply(http.StatusOK, cp)
}

// Me answers GET /me: the bearer token's user, private. It sets no ETag: the cache adds one
// to answers it does not store, and answers a matching If-None-Match with 304.
func (a *App) Me(r *http.Request) Reply {
	if rep, failed := a.originRun(RouteMe); failed {
		return rep
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	user, known := a.users[tok]
	if !ok || !known {
		rep := jsonReply(http.StatusUnauthorized, map[string]string{"error": "bearer token required (try alice-token or bob-token)"})
		rep.Header.Set("WWW-Authenticate", `Bearer realm="demo"`)
		return rep
	}
	rep := jsonReply(http.StatusOK, map[string]string{"user": user})
	rep.Header.Set("Cache-Control", MePolicy.CacheControl())
	return rep
}

// Slow answers GET /slow after SlowDelay.
func (a *App) Slow() Reply {
	if rep, failed := a.originRun(RouteSlow); failed {
		return rep
	}
	time.Sleep(a.SlowDelay)
	return jsonReply(http.StatusOK, map[string]any{"slow": true, "at": time.Now().UnixNano()})
}

// Clock answers GET /clock with the current time in nanoseconds.
func (a *App) Clock() Reply {
	if rep, failed := a.originRun(RouteClock); failed {
		return rep
	}
	return jsonReply(http.StatusOK, map[string]int64{"now": time.Now().UnixNano()})
}

// SetFail answers PUT /debug/fail?on=1|0.
func (a *App) SetFail(on string) Reply {
	switch on {
	case "1", "true":
		a.fail.Store(true)
	case "0", "false":
		a.fail.Store(false)
	default:
		return jsonReply(http.StatusBadRequest, map[string]string{"error": "on=1 or on=0"})
	}
	return noStore(jsonReply(http.StatusOK, map[string]bool{"failing": a.fail.Load()}))
}

// Origin answers GET /debug/origin: route pattern → handler runs.
func (a *App) Origin() Reply {
	a.originMu.Lock()
	m := make(map[string]int, len(a.origin))
	for k, v := range a.origin {
		m[k] = v
	}
	a.originMu.Unlock()
	return noStore(jsonReply(http.StatusOK, m))
}

func noStore(r Reply) Reply {
	r.Header.Set("Cache-Control", "no-store")
	return r
}

// Flags are the flags every example takes.
type Flags struct {
	Addr  string
	Redis string
	// DB is the redis:// URL of the catalogue's database, the origin's (env DB_URL). Empty
	// (the default): database 1 of the Redis server (see CatalogueURL), or in memory without
	// Redis.
	DB string
	// Memcached is a comma-separated list of memcached servers (host:port) for the L2 when
	// Redis is not set: entries are shared, the fleet (lock, purges, generation) stays per
	// instance. Empty (the default): no memcached.
	Memcached string
	// KeySecret seeds the cache's key hash (core.Config.KeySecret), from the env
	// STRATA_KEY_SECRET: instances sharing a memcached L2 need one secret to share entries
	// (with Redis the fleet agrees on one by itself). Empty (the default): per process.
	KeySecret string
	Warm      string
	// CDNPurge is the base URL of a CDN in front (Varnish with examples/cdn/default.vcl):
	// every purge, PUT /products/{id}'s tag purges included, is sent there too through
	// core.HTTPPurger. Empty (the default): no CDN is told.
	CDNPurge string
	// ForwardSurrogateKey passes the Surrogate-Key response field on (Config.ForwardSurrogateKey),
	// for a CDN in front to index entries by tag. False (the default): stripped.
	ForwardSurrogateKey bool
}

// CDNTagHeader is the field the demo's CDN purges carry tags in: vmod_xkey's, as
// examples/cdn/default.vcl reads it (README, "Invalidation and purging").
const CDNTagHeader = "xkey-purge"

// ParseFlags reads -addr, -redis (env REDIS_URL as the fallback), -db (env DB_URL), -memcached (env
// MEMCACHED_SERVERS), -warm, -cdn-purge (env
// STRATA_CDN_PURGE) and -forward-surrogate-key (env STRATA_FORWARD_SURROGATE_KEY=1).
func ParseFlags() Flags {
	var f Flags
	flag.StringVar(&f.Addr, "addr", "127.0.0.1:8080", "listen address")
	flag.StringVar(&f.Redis, "redis", os.Getenv("REDIS_URL"), "redis:// URL of the shared L2 (empty: L1 only)")
	flag.StringVar(&f.DB, "db", os.Getenv("DB_URL"),
		"redis:// URL of the product catalogue, the origin's database (empty: database 1 of the -redis server, or in memory without -redis)")
	flag.StringVar(&f.Memcached, "memcached", os.Getenv("MEMCACHED_SERVERS"),
		"comma-separated memcached servers (host:port) for the L2 when -redis is not set (empty: none)")
	f.KeySecret = os.Getenv("STRATA_KEY_SECRET")
	flag.StringVar(&f.Warm, "warm", "", "file of URLs (one per line) to warm the cache with at start")
	flag.StringVar(&f.CDNPurge, "cdn-purge", os.Getenv("STRATA_CDN_PURGE"),
		"base URL of the CDN in front (Varnish with examples/cdn/default.vcl) that every purge is also sent to (empty: none)")
	fwd, _ := strconv.ParseBool(os.Getenv("STRATA_FORWARD_SURROGATE_KEY"))
	flag.BoolVar(&f.ForwardSurrogateKey, "forward-surrogate-key", fwd,
		"pass Surrogate-Key on to the client, for a CDN in front to tag entries with (default: stripped)")
	flag.Parse()
	return f
}

// cdnPurger returns the Purger for -cdn-purge: nil when it is empty.
func cdnPurger(endpoint string) (core.Purger, error) {
	if endpoint == "" {
		return nil, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("demo: -cdn-purge %q: want an http:// or https:// base URL", endpoint)
	}
	return &core.HTTPPurger{Endpoint: endpoint, TagHeader: CDNTagHeader}, nil
}

// Setup is what every example builds at start.
type Setup struct {
	Cache   *core.Cache
	Metrics http.Handler // serves GET /metrics
	l2      io.Closer    // the L2 NewSetup built, if any
}

// Close closes the cache, then its L2.
func (s *Setup) Close() error {
	err := s.Cache.Close()
	if s.l2 != nil {
		err = errors.Join(err, s.l2.Close())
	}
	return err
}

// NewSetup builds the examples' cache (L1, plus L2 when a Redis URL is given) and its
// Prometheus metrics, on a registry of their own.
func NewSetup(f Flags) (*Setup, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg, metrics.Options{})
	purger, err := cdnPurger(f.CDNPurge)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var l2 io.Closer
	cfg := core.Config{}
	switch {
	case f.Redis != "":
		rs, err := redisstore.NewFromURL(f.Redis, redisstore.Options{Logger: logger})
		if err != nil {
			return nil, err
		}
		cfg.L2, l2 = rs, rs
	case f.Memcached != "":
		ms, err := memcached.NewFromServers(strings.Split(f.Memcached, ","), memcached.Options{})
		if err != nil {
			return nil, err
		}
		cfg.L2, l2 = ms, ms
	}
	cfg.Observer = m
	// Every example process serves the same site, whichever address it is reached on,
	// so instances on one Redis share entries.
	cfg.KeySecret = []byte(f.KeySecret)
	cfg.Host = "demo"
	cfg.Purger = purger
	cfg.ForwardSurrogateKey = f.ForwardSurrogateKey
	cfg.Logger = logger
	cache, err := core.New(cfg)
	if err != nil {
		if l2 != nil {
			_ = l2.Close()
		}
		return nil, err
	}
	m.Attach(cache)
	prom := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return &Setup{Cache: cache, l2: l2, Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store") // figures are never cached, here or by a CDN
		prom.ServeHTTP(w, r)
	})}, nil
}

// Warm fills the cache from the -warm file through h (the example's whole router), if given,
// and prints a one-line summary. Relative URLs in the file get the -addr host, the Host that
// curl sends to the example, so that the warmed entries are the ones clients look up.
func (s *Setup) Warm(f Flags, h http.Handler) error {
	if f.Warm == "" {
		return nil
	}
	urls, err := core.WarmFile(f.Warm)
	if err != nil {
		return err
	}
	host := f.Addr
	if strings.HasPrefix(host, ":") {
		host = "localhost" + host
	}
	start := time.Now()
	sum, err := s.Cache.Warm(context.Background(), h, urls, core.WarmOptions{Host: host})
	if err != nil {
		return err
	}
	fmt.Printf("warm-up from %s: %s in %v\n", f.Warm, sum, time.Since(start).Round(time.Millisecond))
	for _, e := range sum.Errors {
		fmt.Printf("  %v\n", e)
	}
	return nil
}

// Banner is what an example prints at start: where it listens, its routes with what each
// needs (a bearer token for /me, STRATA_ADMIN_TOKEN for /admin/purge), and curl lines to
// try. adminToken is the purge endpoint's token; it is never printed, only whether it is set.
func Banner(framework string, f Flags, adminToken string) string {
	base := "http://" + f.Addr
	l2 := "L1 only"
	switch {
	case f.Redis != "":
		l2 = "L1 + Redis L2 at " + f.Redis
	case f.Memcached != "":
		l2 = "L1 + memcached L2 at " + f.Memcached
	}
	purge := "needs Authorization: Bearer $STRATA_ADMIN_TOKEN"
	purgeTry := fmt.Sprintf(`  curl -i -X POST -H "Authorization: Bearer $STRATA_ADMIN_TOKEN" '%s/admin/purge?tag=product:1'
`, base)
	if adminToken == "" {
		purge = "DISABLED: STRATA_ADMIN_TOKEN is not set (401 without a token, 403 with any)"
		purgeTry = ""
	}
	if db, err := CatalogueURL(f); err == nil && db != "" {
		l2 += "; catalogue at " + redactURL(db)
	}
	if f.CDNPurge != "" {
		l2 += "; purges also sent to the CDN at " + f.CDNPurge
	}
	if f.ForwardSurrogateKey {
		l2 += "; Surrogate-Key forwarded"
	}
	return fmt.Sprintf(`strata %s example on %s (%s)
routes (every GET route answers HEAD too):
  GET  /products/{id}          ids 1-100, else 404; public, s-maxage=60, 404s kept 10 s
  GET  /products?category=c    public, s-maxage=30
  PUT  /products/{id}          JSON {"name","category","price"}; invalidates it and its tags
  GET  /me                     needs Authorization: Bearer alice-token (or bob-token), else 401;
                               private, never stored; ETag and 304 from the cache
  GET  /slow, /clock           200 ms origin, s-maxage=5; time, s-maxage=1 + stale windows
  PUT  /debug/fail?on=1|0      every origin answers 500 while on
  GET  /debug/origin           origin runs per route
  GET  /metrics                Prometheus
  POST /admin/purge?tag=T|url=U|all=1   %[5]s
try:
  curl -i %[4]s/products/1            # first: Cache-Status fwd=uri-miss; stored
  curl -i %[4]s/products/1            # then: Cache-Status hit, Age
  curl -s %[4]s/debug/origin          # one origin run for /products/{id}
  curl -i -H 'If-None-Match: "p1-v1"' %[4]s/products/1   # 304 from the cache
  curl -i %[4]s/products/999          # 404, negatively cached
  curl -i -H 'Authorization: Bearer alice-token' %[4]s/me   # private: never stored
  curl -i -X PUT -d '{"price":1.5}' %[4]s/products/1        # invalidates product 1
  curl -i %[4]s/clock                 # s-maxage=1, stale-while-revalidate=30
%[6]s`, framework, f.Addr, l2, base, purge, purgeTry)
}
