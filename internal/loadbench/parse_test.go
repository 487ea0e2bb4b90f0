package main

import (
	"strings"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/procstat"
)

const wrkOutput = `Running 10s test @ http://127.0.0.1:40215/items/1
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   512.34us  120.01us   4.21ms   91.02%
    Req/Sec    62.10k     1.90k   66.01k    79.00%
  Latency Distribution
     50%  487.00us
     75%  540.00us
     90%  611.00us
     99%    1.02ms
  617966 requests in 10.00s, 774.43MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  61793.12
Transfer/sec:     77.44MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	if r.requests != 617966 || r.reqPerS != 61793.12 {
		t.Fatalf("requests, req/s = %d, %v", r.requests, r.reqPerS)
	}
	if r.p50 != 487*time.Microsecond || r.p99 != 1020*time.Microsecond {
		t.Fatalf("p50, p99 = %s, %s", r.p50, r.p99)
	}
	if r.non2xx != 4 || r.sockErrs != 3 {
		t.Fatalf("non2xx, socket errors = %d, %d; want 4, 3", r.non2xx, r.sockErrs)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused"); err == nil {
		t.Fatal("no error for output without results")
	}
}

func TestParseWrkDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"412.00us": 412 * time.Microsecond, "1.50ms": 1500 * time.Microsecond, "2.00s": 2 * time.Second, "1.00m": time.Minute,
	} {
		if got, err := parseWrkDuration(in); err != nil || got != want {
			t.Errorf("parseWrkDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
}

func TestGoBenchTable(t *testing.T) {
	out := `goos: linux
BenchmarkL1Hit/1KiB/strata/writer         	  800000	      1500 ns/op	    2164 B/op	       8 allocs/op
BenchmarkL1Hit/1KiB/bare/writer           	 8000000	       150.0 ns/op	      32 B/op	       2 allocs/op
BenchmarkL2Hit/1KiB/strata/writer-2       	   20000	     50000 ns/op	    2756 B/op	      19 allocs/op
BenchmarkL2Hit/1KiB/redis-get/writer-2    	   20000	     45000 ns/op	    1512 B/op	       8 allocs/op
PASS
`
	tab := goBenchTable(out)
	for _, want := range []string{
		"| L1Hit/1KiB/writer | bare | 1500 | 150 | +1350 | 8 | 2 | 2164 | 32 |",
		"| L2Hit/1KiB/writer | redis-get | 50000 | 45000 | +5000 | 19 | 8 | 2756 | 1512 |",
	} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
}

func TestStatusField(t *testing.T) {
	status := "Name:\tserver\nVmHWM:\t   15600 kB\nVmRSS:\t   12000 kB\n"
	if v, err := procstat.Field(strings.NewReader(status), "VmHWM"); err != nil || v != 15600<<10 {
		t.Fatalf("VmHWM = %d, %v", v, err)
	}
	if _, err := procstat.Field(strings.NewReader(status), "VmSwap"); err == nil {
		t.Fatal("no error for a missing field")
	}
}

func TestCacheStatusKind(t *testing.T) {
	for in, want := range map[string]string{
		"strata; hit; ttl=59":                     "hit",
		"strata; fwd=uri-miss; ttl=60; stored":    "fwd=uri-miss; stored",
		"strata; fwd=uri-miss; ttl=60; collapsed": "fwd=uri-miss; collapsed",
		"": "(none)",
	} {
		if got := cacheStatusKind(in); got != want {
			t.Errorf("cacheStatusKind(%q) = %q, want %q", in, got, want)
		}
	}
}
