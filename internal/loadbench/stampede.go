package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stampedeResult is what the stampede client (this binary with -client stampede) prints.
type stampedeResult struct {
	Latencies []time.Duration `json:"latencies"`
	Errors    int             `json:"errors"`
	Statuses  map[string]int  `json:"statuses"`     // HTTP status → count
	Cache     map[string]int  `json:"cache_status"` // Cache-Status → count
	Conns     int             `json:"conns"`        // connections warmed before the burst
}

// stampedeClient opens n keep-alive connections (each held by a 20 ms request to /warm), then
// releases n requests for the cold URL at once and reports each one's latency.
func stampedeClient(base, path string, n int) error {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	get := func(url string) (int, string, error) {
		resp, err := client.Get(url)
		if err != nil {
			return 0, "", err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Cache-Status"), nil
	}

	var warm sync.WaitGroup
	for range n {
		warm.Add(1)
		go func() {
			defer warm.Done()
			_, _, _ = get(base + "/warm")
		}()
	}
	warm.Wait()

	res := stampedeResult{Latencies: make([]time.Duration, n), Statuses: map[string]int{}, Cache: map[string]int{}, Conns: n}
	var mu sync.Mutex
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			t0 := time.Now()
			code, cs, err := get(base + path)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			res.Latencies[i] = d
			if err != nil {
				res.Errors++
				return
			}
			res.Statuses[strconv.Itoa(code)]++
			res.Cache[cacheStatusKind(cs)]++
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// cacheStatusKind shortens a Cache-Status value to its result ("hit", "fwd=uri-miss; stored",
// "fwd=uri-miss; collapsed" …) without the ttl.
func cacheStatusKind(cs string) string {
	var parts []string
	for i, p := range strings.Split(cs, ";") {
		p = strings.TrimSpace(p)
		if i == 0 || strings.HasPrefix(p, "ttl=") {
			continue
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, "; ")
}

// stampedeRow is one stampede run in the report.
type stampedeRow struct {
	label    string
	runs     int64
	n        int
	errors   int
	p50, p99 time.Duration
	max      time.Duration
	cache    map[string]int
}

// runStampede starts a stampede server (L1, or L1+L2 with redisAddr), fires the burst from a
// client pinned to the load CPU, and reads the origin runs the server reports at exit.
func runStampede(ctx context.Context, o *options, label, mode, redisAddr string, rep int) (stampedeRow, error) {
	row := stampedeRow{label: label, n: o.stampedeN}
	args := []string{"-delay", o.stampedeDelay.String()}
	if redisAddr != "" {
		args = append(args, "-redis", redisAddr)
	}
	srv, addr, err := startServer(ctx, o, mode, args)
	if err != nil {
		return row, err
	}
	defer srv.kill()

	argv := []string{self, "-client", "stampede", "-url", "http://" + addr, "-path", "/slow/cold-" + strconv.Itoa(rep), "-n", strconv.Itoa(o.stampedeN)}
	cl, err := startProc("stampede client", pin(o.loadCPU, argv), nil)
	if err != nil {
		return row, err
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := cl.wait(cctx); err != nil {
		return row, fmt.Errorf("stampede client: %v\n%s", err, tail(cl.out.String(), 2000))
	}
	var res stampedeResult
	if err := json.Unmarshal([]byte(lastLine(cl.out.String())), &res); err != nil {
		return row, fmt.Errorf("stampede client output: %v\n%s", err, tail(cl.out.String(), 2000))
	}
	runs, err := stopServer(ctx, srv)
	if err != nil {
		return row, err
	}
	lat := slices.Clone(res.Latencies)
	slices.Sort(lat)
	row.runs, row.errors, row.cache = runs, res.Errors, res.Cache
	row.p50, row.p99, row.max = quantile(lat, 0.50), quantile(lat, 0.99), lat[len(lat)-1]
	return row, nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
