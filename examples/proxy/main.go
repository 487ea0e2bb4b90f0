// Command proxy is a caching reverse proxy built from Strata's core: put it in front of a
// service you cannot change, and it caches what the service's Cache-Control lets a shared
// cache keep (RFC 9111).
//
//	go run ./examples/proxy -upstream http://127.0.0.1:8080
//	go run ./examples/proxy -upstream http://127.0.0.1:8080 -listen 127.0.0.1:8081 \
//	    -redis redis://127.0.0.1:6379/0 -metrics 127.0.0.1:9091
//
// Every answer carries Cache-Status. Metrics are served on their own listener (-metrics), so
// no path of the upstream is shadowed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/metrics"
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
	listen, upstream, redis, metrics, warm string
	targeted                               []string
	preserveHost                           bool
	heuristic                              float64
	staleIfError                           time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, *url.URL, error) {
	var c config
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8081", "listen address of the proxy")
	fs.StringVar(&c.upstream, "upstream", "", "upstream base URL, e.g. http://127.0.0.1:8080 (required)")
	fs.StringVar(&c.redis, "redis", os.Getenv("REDIS_URL"), "redis:// URL of the shared L2 (empty: L1 only; env REDIS_URL)")
	fs.StringVar(&c.metrics, "metrics", "", "listen address of a separate Prometheus /metrics server (empty: off)")
	fs.StringVar(&c.warm, "warm", "", "file of URLs (one per line) to warm the cache with at start")
	fs.BoolVar(&c.preserveHost, "preserve-host", false, "send the client's Host upstream instead of the upstream's")
	// On in this demo (core's default is off): it is measured against the public caching
	// test suite, which expects heuristic freshness (RFC 9111 §4.2.2).
	fs.Float64Var(&c.heuristic, "heuristic", 0.1, "heuristic freshness: this fraction of the time since Last-Modified, for answers without explicit freshness (0: off)")
	// On in this demo (core's default is none): a proxy in front of a service is the CDN
	// that CDN-Cache-Control targets (RFC 9213 §3), unlike Strata inside the service.
	// On in this demo (core's default is off): a proxy is the cache of last resort for an
	// upstream that goes down (RFC 9111 §4.2.4), as nginx's proxy_cache_use_stale or
	// Varnish's grace are.
	fs.DurationVar(&c.staleIfError, "stale-if-error", 10*time.Minute, "serve a stale answer this long past its freshness when the upstream fails or cannot be reached, unless it forbids stale answers (0: only the upstream's own stale-if-error)")
	targeted := fs.String("targeted", "CDN-Cache-Control", "comma-separated targeted cache-control fields this cache obeys over Cache-Control, in order (RFC 9213; empty: none)")
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	if fs.NArg() > 0 {
		return c, nil, fmt.Errorf("proxy: unexpected arguments %q", fs.Args())
	}
	for _, f := range strings.Split(*targeted, ",") {
		if f = strings.TrimSpace(f); f != "" {
			c.targeted = append(c.targeted, f)
		}
	}
	if c.staleIfError < 0 {
		return c, nil, fmt.Errorf("proxy: -stale-if-error %v: must not be negative", c.staleIfError)
	}
	if !(c.heuristic >= 0 && c.heuristic <= 1) {
		return c, nil, fmt.Errorf("proxy: -heuristic %v: want a fraction between 0 and 1", c.heuristic)
	}
	if c.upstream == "" {
		return c, nil, errors.New("proxy: -upstream is required (e.g. -upstream http://127.0.0.1:8080)")
	}
	u, err := url.Parse(c.upstream)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, nil, fmt.Errorf("proxy: -upstream %q: want an http:// or https:// URL with a host", c.upstream)
	}
	return c, u, nil
}

// run serves until ctx ends, then shuts down gracefully. It prints the address it listens
// on (useful with -listen 127.0.0.1:0) to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, upstream, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg, metrics.Options{})
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := core.Config{Observer: m, Logger: logger, HeuristicFreshness: c.heuristic, TargetedFields: c.targeted,
		StaleIfError: c.staleIfError}
	if c.redis != "" {
		l2, err := redisstore.NewFromURL(c.redis, redisstore.Options{Logger: logger})
		if err != nil {
			return err
		}
		defer func() { _ = l2.Close() }()
		cfg.L2 = l2
	}
	cache, err := core.New(cfg)
	if err != nil {
		return err
	}
	defer func() { _ = cache.Close() }()
	m.Attach(cache)

	errLog := log.New(stderr, "proxy: ", log.LstdFlags)
	handler := NewProxyWithOptions(upstream, cache, ProxyOptions{PreserveHost: c.preserveHost, ErrorLog: errLog,
		TargetedFields: c.targeted})

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	servers := []*http.Server{{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}}
	listeners := []net.Listener{ln}
	if c.metrics != "" {
		mln, err := net.Listen("tcp", c.metrics)
		if err != nil {
			_ = ln.Close()
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: errLog}))
		servers = append(servers, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog})
		listeners = append(listeners, mln)
		_, _ = fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", mln.Addr())
	}
	if c.warm != "" {
		urls, err := core.WarmFile(c.warm)
		if err != nil {
			closeAll(listeners)
			return err
		}
		sum, err := cache.Warm(ctx, handler, urls, core.WarmOptions{Host: ln.Addr().String()})
		if err != nil {
			closeAll(listeners)
			return err
		}
		_, _ = fmt.Fprintf(stdout, "warm-up from %s: %s\n", c.warm, sum)
	}
	l2 := "L1 only"
	if c.redis != "" {
		l2 = "L1 + Redis L2"
	}
	_, _ = fmt.Fprintf(stdout, "strata proxy on http://%s → %s (%s)\n", ln.Addr(), upstream, l2)

	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	select {
	case <-ctx.Done():
	case err = <-errc: // a server failed: stop the others
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(sctx)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		_ = l.Close()
	}
}
