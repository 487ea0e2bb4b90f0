// Command loadbench measures Strata against bare servers under load, one command:
//
//	go run ./internal/loadbench                              # prints a markdown report
//	go run ./internal/loadbench -write docs/performance.md   # and writes it there
//	make bench-load
//
// It starts every server as a separate process (this binary with -serve MODE), pinned with
// GOMAXPROCS=1 and taskset to one CPU, and drives it with wrk pinned to another CPU, over
// 127.0.0.1 with keep-alive connections, for a bounded time per run: one hot key, then keys
// in rotation (a generated wrk Lua script). Each run is warmed first and repeated; the report
// takes medians, and every ratio compares rows measured in the same repeat. It also runs a
// stampede (concurrent requests on a cold key whose handler is slow), a memory fill and a
// flood of unique keys into the L1, and optionally the core micro benchmarks.
//
// Beside Strata it runs peers, what a user might pick instead: naive bigcache and go-redis
// middlewares (naive.go), go-chi/stampede and chenyahui/gin-cache (peers.go). The tool is
// its own module, so the main module does not depend on them; the committed go.work lets
// `go run ./internal/loadbench` work from the repository root. -only picks rows, e.g.
// -only bare,strata-chi,naive-bigcache.
//
// Needs wrk and redis-server on PATH (Debian: apt-get install wrk redis-server); taskset
// (util-linux) is used when present. Every process it starts is killed when it ends, on
// errors and on Ctrl-C as well.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// options are the tool's flags.
type options struct {
	duration, warm time.Duration
	repeat, conns  int
	keys, body     int
	write          string
	only           []string
	scenarios      []string

	stampedeN     int
	stampedeDelay time.Duration

	memEntries int
	memL1      []int
	floodN     int
	floodL1    int

	maxOther  float64
	retries   int
	quietWait time.Duration

	skipLoad, skipStampede, skipMemory bool
	gobench                            bool
	gobenchTime                        string

	serverCPU, loadCPU string
	redisPid           int
}

var (
	self        string // this binary, re-executed for servers and clients
	wrkPath     string
	tasksetPath string
	redisPath   string
)

func main() {
	var o options
	var only, scenarios, memL1 string
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured wrk run per server and scenario (whole seconds)")
	flag.DurationVar(&o.warm, "warm", 2*time.Second, "wrk warm-up before each measured run (0: only the cache fill)")
	flag.IntVar(&o.repeat, "repeat", 3, "repeats of every run; the report shows medians")
	flag.IntVar(&o.conns, "conns", 32, "wrk keep-alive connections")
	flag.IntVar(&o.keys, "keys", 1000, "keys in the rotation scenario")
	flag.IntVar(&o.body, "body", 1024, "response body bytes")
	flag.StringVar(&o.write, "write", "", "also write the report to this file (e.g. docs/performance.md)")
	flag.StringVar(&only, "only", "", "comma-separated server modes to run (default all): "+modes())
	flag.StringVar(&scenarios, "scenarios", "hot,keys", "comma-separated scenarios: hot (one key), keys (rotation)")
	flag.Float64Var(&o.maxOther, "max-other", 0.10, "re-run a measurement when other processes used more than this fraction of the server or the load CPU")
	flag.IntVar(&o.retries, "retries", 3, "re-runs allowed per measurement for -max-other")
	flag.DurationVar(&o.quietWait, "quiet-wait", time.Minute, "before each run, wait up to this long for other processes to leave the benchmark CPUs (below -max-other)")
	flag.IntVar(&o.stampedeN, "stampede-n", 200, "concurrent requests in the stampede run")
	flag.DurationVar(&o.stampedeDelay, "stampede-delay", 100*time.Millisecond, "handler time of the stampede key")
	flag.IntVar(&o.memEntries, "mem-entries", 100_000, "entries inserted in the memory fill")
	flag.StringVar(&memL1, "mem-l1-sizes", "128,256", "comma-separated L1MaxBytes (MiB) for the memory fill")
	flag.IntVar(&o.floodN, "flood", 1_000_000, "unique keys inserted in the flood run")
	flag.IntVar(&o.floodL1, "flood-l1", 64, "L1MaxBytes (MiB) of the flood run")
	flag.BoolVar(&o.skipLoad, "skip-load", false, "skip the wrk runs")
	flag.BoolVar(&o.skipStampede, "skip-stampede", false, "skip the stampede run")
	flag.BoolVar(&o.skipMemory, "skip-memory", false, "skip the memory runs")
	flag.BoolVar(&o.gobench, "gobench", true, "also run the core micro benchmarks (go test -bench) and include them")
	flag.StringVar(&o.gobenchTime, "gobench-time", "1s", "-benchtime of the micro benchmarks")

	// Internal modes: this binary is also every server and client the tool starts.
	serve := flag.String("serve", "", "internal: run a server of this mode")
	client := flag.String("client", "", "internal: run a client (stampede)")
	mem := flag.String("mem", "", "internal: run a memory measurement (fill, flood)")
	redisAddr := flag.String("redis", "", "internal: redis address for -serve")
	delay := flag.Duration("delay", 100*time.Millisecond, "internal: handler delay for -serve stampede")
	url := flag.String("url", "", "internal: base URL for -client")
	path := flag.String("path", "", "internal: path for -client")
	n := flag.Int("n", 200, "internal: requests for -client")
	cpuProfile := flag.String("cpuprofile", "", "internal: CPU profile file for -serve (for diagnosis by hand)")
	memMiB := flag.Int("mem-l1", 256, "internal: L1MaxBytes (MiB) for -mem")
	memStep := flag.Int("mem-step", 100_000, "internal: RSS sample step for -mem flood")
	flag.Parse()

	var err error
	switch {
	case *serve != "":
		err = serveMain(*serve, *redisAddr, o.body, o.keys, *delay, *cpuProfile)
	case *client == "stampede":
		err = stampedeClient(*url, *path, *n)
	case *client != "":
		err = fmt.Errorf("unknown -client %q", *client)
	case *mem != "":
		err = memMain(*mem, o.memEntries, o.body, *memMiB, *memStep)
	default:
		o.only = splitList(only)
		o.scenarios = splitList(scenarios)
		for _, s := range splitList(memL1) {
			v, perr := strconv.Atoi(s)
			if perr != nil || v < 1 {
				fmt.Fprintf(os.Stderr, "loadbench: bad -mem-l1-sizes %q\n", memL1)
				os.Exit(2)
			}
			o.memL1 = append(o.memL1, v)
		}
		os.Exit(orchestrate(&o))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

func modes() string {
	var m []string
	for _, s := range servers {
		m = append(m, s.mode)
	}
	return strings.Join(m, ",")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// orchestrate runs everything and returns the exit code. Every child is killed before it
// returns, whatever happens (errors, panics, SIGINT, SIGTERM).
func orchestrate(o *options) (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	defer killAll()
	defer func() {
		if p := recover(); p != nil {
			killAll()
			fmt.Fprintln(os.Stderr, "loadbench: panic:", p)
			code = 1
		}
	}()
	if err := run(ctx, o); err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "loadbench: interrupted; every process it started is stopped")
			return 130
		}
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		return 1
	}
	return 0
}

func run(ctx context.Context, o *options) error {
	var err error
	if self, err = os.Executable(); err != nil {
		return err
	}
	tasksetPath, _ = exec.LookPath("taskset")
	redisPath, _ = exec.LookPath("redis-server")
	if !o.skipLoad {
		if wrkPath, err = exec.LookPath("wrk"); err != nil {
			return errors.New("wrk not found on PATH (Debian: apt-get install wrk)")
		}
	}
	if cpus := allowedCPUs(); tasksetPath != "" && len(cpus) >= 2 {
		o.serverCPU, o.loadCPU = cpus[0], cpus[1]
	} else {
		tasksetPath = ""
	}
	if o.duration < time.Second {
		return errors.New("-duration must be at least 1s")
	}
	if o.repeat < 1 {
		return errors.New("-repeat must be at least 1")
	}

	dir, err := os.MkdirTemp("", "loadbench")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()

	rep := &report{opts: o, started: time.Now(), machine: describeMachine(o), loadStart: loadAvg()}
	logf("loadbench: server CPU %q, load CPU %q; %s per run, %d repeats", o.serverCPU, o.loadCPU, o.duration, o.repeat)

	// One redis-server for the whole run, pinned with the load generator (it stands for
	// another machine), flushed before every run that uses it.
	var rdb *redis.Client
	var redisAddr string
	if needRedis(o) {
		if redisPath == "" {
			logf("loadbench: redis-server not found on PATH; skipping the L2 rows (Debian: apt-get install redis-server)")
			rep.notes = append(rep.notes, "redis-server was not on PATH: the L2 rows and the L1+L2 stampede were skipped.")
		} else {
			var rp *proc
			rp, redisAddr, err = startRedis(ctx, o, dir)
			if err != nil {
				return err
			}
			defer rp.kill()
			o.redisPid = rp.pid()
			rdb = redis.NewClient(&redis.Options{Addr: redisAddr})
			defer func() { _ = rdb.Close() }()
		}
	}

	var benchBin, benchDir string
	if o.gobench {
		logf("loadbench: building the core benchmarks (go test -c ./core)")
		if benchBin, benchDir, err = buildGoBench(ctx, dir); err != nil {
			return err
		}
	}

	if !o.skipLoad {
		script, err := rotationScript(dir, o.keys)
		if err != nil {
			return err
		}
		if err := runLoad(ctx, o, rep, rdb, redisAddr, script); err != nil {
			return err
		}
	}
	if !o.skipStampede {
		for r := range o.repeat {
			for _, v := range []struct{ label, mode, redis string }{
				{"Strata+chi L1", "stampede", ""},
				{"Strata+chi L1+L2 (fleet lock)", "stampede-l2", redisAddr},
			} {
				if v.mode == "stampede-l2" && redisAddr == "" {
					continue
				}
				if rdb != nil {
					_ = rdb.FlushAll(ctx).Err()
				}
				waitQuiet(ctx, o)
				logf("stampede: %s, repeat %d", v.label, r+1)
				row, err := runStampede(ctx, o, v.label, v.mode, v.redis, r)
				if err != nil {
					return err
				}
				logf("  handler runs %d, p50 %s, max %s, errors %d", row.runs, row.p50.Round(time.Millisecond), row.max.Round(time.Millisecond), row.errors)
				rep.stampede = append(rep.stampede, row)
			}
		}
	}
	if !o.skipMemory {
		for _, l1 := range o.memL1 {
			waitQuiet(ctx, o)
			logf("memory: %d entries of %d B into a %d MiB L1", o.memEntries, o.body, l1)
			m, err := runMemory(ctx, o, "fill", o.memEntries, l1, 0)
			if err != nil {
				return err
			}
			logf("  RSS growth %.1f MiB for %.1f MiB of bodies (%.2f×), %d/%d still cached", mib(m.RSSAfter-m.RSSBefore),
				mib(int64(m.Entries*m.BodyBytes)), float64(m.RSSAfter-m.RSSBefore)/float64(m.Entries*m.BodyBytes), m.Hits, m.Entries)
			rep.memFill = append(rep.memFill, m)
			logf("memory: the same entries into a %d MiB store.L1 alone (no core)", l1)
			m, err = runMemory(ctx, o, "l1", o.memEntries, l1, 0)
			if err != nil {
				return err
			}
			logf("  RSS growth %.1f MiB for %.1f MiB of entries (%d B entry + %d B key each)", mib(m.RSSAfter-m.RSSBefore),
				mib(int64(m.Entries*(m.EntryBytes+m.KeyBytes))), m.EntryBytes, m.KeyBytes)
			rep.memL1 = append(rep.memL1, m)
		}
		logf("memory: flood of %d unique keys into a %d MiB L1", o.floodN, o.floodL1)
		m, err := runMemory(ctx, o, "flood", o.floodN, o.floodL1, max(1, o.floodN/10))
		if err != nil {
			return err
		}
		rep.flood = &m
	}
	if o.gobench {
		waitQuiet(ctx, o)
		logf("go test -bench (core micro benchmarks, -cpu 1, pinned)")
		out, err := runGoBench(ctx, o, benchBin, benchDir)
		if err != nil {
			return err
		}
		rep.gobench = out
	}

	text := rep.markdown()
	fmt.Print(text)
	if o.write != "" {
		// The report is a document of the repository (docs/performance.md): readable by all.
		if err := os.MkdirAll(filepath.Dir(o.write), 0o755); err != nil { //nolint:gosec // G301: see above
			return err
		}
		if err := os.WriteFile(o.write, []byte(text), 0o644); err != nil { //nolint:gosec // G306: see above
			return err
		}
		logf("loadbench: wrote %s", o.write)
	}
	return nil
}

func needRedis(o *options) bool {
	if !o.skipStampede {
		return true
	}
	if o.skipLoad {
		return false
	}
	for _, s := range selectedServers(o) {
		if s.redis {
			return true
		}
	}
	return false
}

func selectedServers(o *options) []serverSpec {
	if len(o.only) == 0 {
		return servers
	}
	var out []serverSpec
	for _, s := range servers {
		if slices.Contains(o.only, s.mode) {
			out = append(out, s)
		}
	}
	return out
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// ---- load runs ----

// loadRun is one measured wrk run against one server.
type loadRun struct {
	wrk      wrkResult
	cpuPerRq time.Duration
	hwm      int64
	runs     int64 // origin handler runs over the server's life (warm-up included)

	serverBusy float64 // server CPU time ÷ wall time of the run (1 = its CPU was saturated)
	wrkBusy    float64 // the same for wrk
	other      float64 // the server CPU's busy time not spent by the server ÷ wall time
	otherLoad  float64 // the load CPU's busy time not spent by wrk or redis-server ÷ wall time
	attempts   int     // runs made to get one with little interference (see -max-other)
}

func runLoad(ctx context.Context, o *options, rep *report, rdb *redis.Client, redisAddr, script string) error {
	list := selectedServers(o)
	if len(list) == 0 {
		return fmt.Errorf("-only %v selects no server (modes: %s)", o.only, modes())
	}
	rep.results = map[string]map[string][]loadRun{}
	for r := range o.repeat {
		for _, sc := range o.scenarios {
			if sc != "hot" && sc != "keys" {
				return fmt.Errorf("unknown scenario %q (hot, keys)", sc)
			}
			for _, s := range list {
				if s.redis && redisAddr == "" {
					continue
				}
				var best loadRun
				for attempt := 0; ; attempt++ {
					waitQuiet(ctx, o)
					logf("load: %-22s %-4s repeat %d/%d", s.label, sc, r+1, o.repeat)
					if rdb != nil && s.redis {
						if err := rdb.FlushAll(ctx).Err(); err != nil {
							return fmt.Errorf("redis FLUSHALL: %w", err)
						}
					}
					lr, err := loadOnce(ctx, o, s, sc, redisAddr, script)
					if err != nil {
						return fmt.Errorf("%s, %s: %w", s.label, sc, err)
					}
					logf("  %8.0f req/s  p50 %-9s p99 %-9s CPU %5.2f µs/req  HWM %5.1f MiB  origin runs %d  busy: server %.0f%% wrk %.0f%%; other processes: %.0f%% of the server CPU, %.0f%% of the load CPU",
						lr.wrk.reqPerS, fmtDur(lr.wrk.p50), fmtDur(lr.wrk.p99), us(lr.cpuPerRq), mib(lr.hwm), lr.runs, lr.serverBusy*100, lr.wrkBusy*100, lr.other*100, lr.otherLoad*100)
					if attempt == 0 || lr.interference() < best.interference() {
						best = lr // keep the run least disturbed by other processes
					}
					best.attempts = attempt + 1
					if lr.interference() <= o.maxOther || attempt >= o.retries {
						break
					}
					logf("  other processes used up to %.0f%% of a benchmark CPU: running it again", lr.interference()*100)
				}
				lr := best
				if rep.results[s.mode] == nil {
					rep.results[s.mode] = map[string][]loadRun{}
				}
				rep.results[s.mode][sc] = append(rep.results[s.mode][sc], lr)
			}
		}
	}
	return nil
}

// interference is the larger share of a benchmark CPU that other processes took.
func (lr loadRun) interference() float64 { return max(lr.other, lr.otherLoad) }

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// waitQuiet waits, up to o.quietWait, until other processes use at most o.maxOther of the
// server CPU (sampled over half a second): the machine may be shared.
func waitQuiet(ctx context.Context, o *options) {
	if o.serverCPU == "" || o.quietWait <= 0 {
		return
	}
	deadline := time.Now().Add(o.quietWait)
	logged := false
	for {
		s0, err1 := cpuBusy(o.serverCPU)
		l0, err2 := cpuBusy(o.loadCPU)
		if err1 != nil || err2 != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
		s1, _ := cpuBusy(o.serverCPU)
		l1, _ := cpuBusy(o.loadCPU)
		busy := float64(max(s1-s0, l1-l0)) / float64(500*time.Millisecond) // an idle redis-server uses next to nothing

		if busy <= o.maxOther || time.Now().After(deadline) {
			return
		}
		if !logged {
			logf("  waiting for the benchmark CPUs to be quiet (%.0f%% busy with other processes)", busy*100)
			logged = true
		}
	}
}

// startServer starts a -serve child pinned to the server CPU and returns its address.
func startServer(ctx context.Context, o *options, mode string, extra []string) (*proc, string, error) {
	argv := append([]string{self, "-serve", mode, "-body", strconv.Itoa(o.body), "-keys", strconv.Itoa(o.keys)}, extra...)
	p, err := startProc("server "+mode, pin(o.serverCPU, argv), []string{"GOMAXPROCS=1"})
	if err != nil {
		return nil, "", err
	}
	addr, err := p.waitLine(ctx, "ADDR ", 15*time.Second)
	if err != nil {
		p.kill()
		return nil, "", err
	}
	return p, addr, nil
}

// stopServer stops a -serve child with SIGTERM and returns the origin runs it reports.
func stopServer(ctx context.Context, p *proc) (int64, error) {
	p.stop(5 * time.Second)
	s, err := p.waitLine(ctx, "RUNS ", time.Second)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(s, 10, 64)
}

func loadOnce(ctx context.Context, o *options, s serverSpec, scenario, redisAddr, script string) (loadRun, error) {
	var lr loadRun
	var extra []string
	if s.redis {
		extra = append(extra, "-redis", redisAddr)
	}
	srv, addr, err := startServer(ctx, o, s.mode, extra)
	if err != nil {
		return lr, err
	}
	defer srv.kill()
	base := "http://" + addr
	url, wrkScript := base+"/items/1", ""
	if scenario == "keys" {
		url, wrkScript = base+"/", script
	}

	// Warm: fill the cache (every key once), check the cached servers now hit, then let wrk
	// warm the server (heap size, GC pacing, connections) before the measured run.
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	get := func(path string) (string, error) {
		resp, err := hc.Get(base + path)
		if err != nil {
			return "", err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return resp.Header.Get("Cache-Status"), nil
	}
	n := 1
	if scenario == "keys" {
		n = o.keys
	}
	for i := range n {
		id := i
		if scenario == "hot" {
			id = 1
		}
		if _, err := get("/items/" + strconv.Itoa(id)); err != nil {
			return lr, err
		}
	}
	if s.cache && !s.peer {
		cs, err := get("/items/1")
		if err != nil {
			return lr, err
		}
		if !strings.Contains(cs, "hit") {
			return lr, fmt.Errorf("after the fill, Cache-Status %q is not a hit", cs)
		}
	}
	tr.CloseIdleConnections()
	if o.warm > 0 {
		if _, err := runWrk(ctx, o.loadCPU, url, wrkScript, o.conns, max(o.warm, time.Second)); err != nil {
			return lr, err
		}
	}

	cpu0, err := cpuTime(srv.pid())
	if err != nil {
		return lr, err
	}
	busy0, _ := cpuBusy(o.serverCPU)
	lbusy0, _ := cpuBusy(o.loadCPU)
	var redis0 time.Duration
	if o.redisPid > 0 {
		redis0, _ = cpuTime(o.redisPid)
	}
	res, err := runWrk(ctx, o.loadCPU, url, wrkScript, o.conns, o.duration)
	if err != nil {
		return lr, err
	}
	cpu1, err := cpuTime(srv.pid())
	if err != nil {
		return lr, err
	}
	busy1, _ := cpuBusy(o.serverCPU)
	lbusy1, _ := cpuBusy(o.loadCPU)
	var redis1 time.Duration
	if o.redisPid > 0 {
		redis1, _ = cpuTime(o.redisPid)
	}
	lr.wrk = res
	lr.cpuPerRq = (cpu1 - cpu0) / time.Duration(res.requests)
	if res.wall > 0 {
		lr.serverBusy = float64(cpu1-cpu0) / float64(res.wall)
		lr.wrkBusy = float64(res.cpu) / float64(res.wall)
		if o.serverCPU != "" && busy1 > busy0 {
			lr.other = max(0, float64(busy1-busy0-(cpu1-cpu0))/float64(res.wall))
			lr.otherLoad = max(0, float64(lbusy1-lbusy0-res.cpu-(redis1-redis0))/float64(res.wall))
		}
	}
	lr.hwm, _ = procStatus(srv.pid(), "VmHWM")
	if lr.runs, err = stopServer(ctx, srv); err != nil {
		return lr, err
	}
	return lr, nil
}

// ---- redis ----

// startRedis starts a throw-away redis-server on a free loopback port (no persistence),
// pinned to the load CPU.
func startRedis(ctx context.Context, o *options, dir string) (*proc, string, error) {
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, "", err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		argv := []string{redisPath, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
			"--dir", dir, "--protected-mode", "yes", "--loglevel", "warning"}
		p, err := startProc("redis-server", pin(o.loadCPU, argv), nil)
		if err != nil {
			return nil, "", err
		}
		c := redis.NewClient(&redis.Options{Addr: addr})
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && !p.exited() {
			pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			err = c.Ping(pctx).Err()
			cancel()
			if err == nil || ctx.Err() != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		_ = c.Close()
		if err == nil && !p.exited() {
			logf("loadbench: redis-server on %s (pid %d)", addr, p.pid())
			return p, addr, nil
		}
		p.kill()
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		lastErr = fmt.Errorf("redis-server on %s: %v\n%s", addr, err, tail(p.out.String(), 1000))
	}
	return nil, "", lastErr
}
