package memcached_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/strata-cache/strata/core"
	"github.com/strata-cache/strata/internal/memcachedtest"
	"github.com/strata-cache/strata/store"
	"github.com/strata-cache/strata/store/memcached"
	"github.com/strata-cache/strata/store/storetest"
)

// newStore returns a Store over the server at addr, closed by t.Cleanup.
func newStore(t *testing.T, addr string, opts memcached.Options) *memcached.Store {
	t.Helper()
	s, err := memcached.NewFromServers([]string{addr}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestConformance runs the store conformance suite (the one the L1 and Redis pass).
func TestConformance(t *testing.T) {
	srv := memcachedtest.Start(t)
	// A generous timeout: the race detector and a busy machine slow the 4 MiB subtest down.
	s := newStore(t, srv.Addr(), memcached.Options{Timeout: 2 * time.Second})
	storetest.Run(t, func(*testing.T) core.Tier { return s })
}

func TestConformancePrefix(t *testing.T) {
	srv := memcachedtest.Start(t)
	s := newStore(t, srv.Addr(), memcached.Options{Timeout: 2 * time.Second, Prefix: "app:"})
	storetest.Run(t, func(*testing.T) core.Tier { return s })
}

var ctx = context.Background()

// TestKeys stores values under keys memcached cannot take as they are and reads each back.
func TestKeys(t *testing.T) {
	srv := memcachedtest.Start(t)
	s := newStore(t, srv.Addr(), memcached.Options{Timeout: time.Second})
	long := "strata:{/" + strings.Repeat("a", 400) + "}:GET"
	keys := []string{
		"plain",
		"with space",
		"with\ttab",
		"with\r\nnewline",
		"\x00nul",
		"#hash-like",
		long,
		long + "x", // differs only past memcached's 250 bytes
		strings.Repeat("k", 250),
		strings.Repeat("k", 251),
		"",
	}
	for _, k := range keys {
		if err := s.Set(ctx, k, []byte("v:"+k), time.Minute); err != nil {
			t.Fatalf("Set(%q): %v", k, err)
		}
	}
	for _, k := range keys {
		got, err := s.Get(ctx, k)
		if err != nil || string(got) != "v:"+k {
			t.Fatalf("Get(%q) = %q, %v", k, got, err)
		}
	}
	if err := s.Delete(ctx, keys...); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if _, err := s.Get(ctx, k); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(%q) after Delete: %v, want ErrNotFound", k, err)
		}
	}

	// Plain keys are stored as they are (under the prefix), so they can be inspected with
	// memcached's own tools.
	p := newStore(t, srv.Addr(), memcached.Options{Prefix: "pre:"})
	if err := p.Set(ctx, "visible", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	raw := memcache.New(srv.Addr())
	defer func() { _ = raw.Close() }()
	if _, err := raw.Get("pre:visible"); err != nil {
		t.Fatalf("raw Get(pre:visible): %v", err)
	}
}

// TestForeignItem: an item this package did not write (other flags, no header) is a miss.
func TestForeignItem(t *testing.T) {
	srv := memcachedtest.Start(t)
	s := newStore(t, srv.Addr(), memcached.Options{})
	raw := memcache.New(srv.Addr())
	defer func() { _ = raw.Close() }()
	if err := raw.Set(&memcache.Item{Key: "foreign", Value: []byte("somebody else's value")}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "foreign"); !errors.Is(err, store.ErrNotFound) || got != nil {
		t.Fatalf("Get(foreign) = %q, %v; want ErrNotFound", got, err)
	}
}

// TestTooLarge: a value over MaxItemBytes is refused before it is sent, and the older value
// under its key is gone; one that the server refuses (its -I is lower than MaxItemBytes says)
// is refused the same way.
func TestTooLarge(t *testing.T) {
	srv := memcachedtest.Start(t, "-I", "2m")
	s := newStore(t, srv.Addr(), memcached.Options{Timeout: 2 * time.Second}) // MaxItemBytes 1 MiB
	const key = "big"
	// The largest value that fits: the limit, less the key, the 8-byte header and 64 bytes.
	fits := bytes.Repeat([]byte("f"), 1<<20-len(key)-8-64)
	if err := s.Set(ctx, key, fits, time.Minute); err != nil {
		t.Fatalf("Set(%d bytes): %v", len(fits), err)
	}
	if got, err := s.Get(ctx, key); err != nil || !bytes.Equal(got, fits) {
		t.Fatalf("Get after Set(%d bytes): %d bytes, %v", len(fits), len(got), err)
	}
	// One more byte is refused, although this server (-I 2m) would take it: detected before
	// sending.
	over := append(fits, 'x')
	if err := s.Set(ctx, key, over, time.Minute); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Set(%d bytes) = %v, want ErrTooLarge", len(over), err)
	}
	if got, err := s.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after a refused Set = %d bytes, %v; want ErrNotFound (older value gone)", len(got), err)
	}

	// MaxItemBytes above the server's limit: the server refuses, with the same result.
	small := memcachedtest.Start(t) // -I 1m
	s2 := newStore(t, small.Addr(), memcached.Options{Timeout: 2 * time.Second, MaxItemBytes: 4 << 20})
	if err := s2.Set(ctx, key, []byte("older"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s2.Set(ctx, key, bytes.Repeat([]byte("x"), 2<<20), time.Minute); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Set(2 MiB) on a 1 MiB server = %v, want ErrTooLarge", err)
	}
	if _, err := s2.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after the server refused a Set = %v, want ErrNotFound", err)
	}
	// The store still works afterwards.
	if err := s2.Set(ctx, key, []byte("small"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Get(ctx, key); err != nil || string(got) != "small" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

// blackHole accepts connections and never answers; it closes them in t.Cleanup.
func blackHole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

// TestTimeout: against a server that accepts and never answers, every call returns an error
// wrapping ErrTimeout after about Options.Timeout.
func TestTimeout(t *testing.T) {
	const timeout = 50 * time.Millisecond
	s := newStore(t, blackHole(t), memcached.Options{Timeout: timeout})
	calls := map[string]func() error{
		"Get":        func() error { _, err := s.Get(ctx, "k"); return err },
		"Set":        func() error { return s.Set(ctx, "k", []byte("v"), time.Minute) },
		"Delete":     func() error { return s.Delete(ctx, "k") },
		"DeleteMany": func() error { return s.Delete(ctx, "a", "b", "c", "d", "e", "f", "g", "h", "i") },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		took := time.Since(start)
		if !errors.Is(err, memcached.ErrTimeout) {
			t.Errorf("%s = %v, want ErrTimeout", name, err)
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s = %v: must not match DeadlineExceeded or ErrNotFound", name, err)
		}
		if took > 2*time.Second {
			t.Errorf("%s took %s with a %s timeout", name, took, timeout)
		}
	}
	st := s.Stats()
	if st.Timeouts != uint64(len(calls)) || st.Errors != uint64(len(calls)) || st.Gets != 1 || st.Hits != 0 || st.Misses != 0 {
		t.Errorf("Stats = %+v, want %d timeouts and errors, 1 get", st, len(calls))
	}
}

// TestContext: a call returns ctx.Err() as soon as its context ends, and that is counted as
// Canceled, not as an error.
func TestContext(t *testing.T) {
	s := newStore(t, blackHole(t), memcached.Options{Timeout: 10 * time.Second})
	c, cancel := context.WithCancel(ctx)
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if _, err := s.Get(c, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a canceled context = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Get took %s after its context was canceled", took)
	}
	c2, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	if err := s.Set(c2, "k", []byte("v"), time.Minute); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, memcached.ErrTimeout) {
		t.Fatalf("Set past its context's deadline = %v, want context.DeadlineExceeded", err)
	}
	// Already canceled: nothing is sent.
	if err := s.Delete(c, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Delete with a canceled context = %v", err)
	}
	if st := s.Stats(); st.Canceled != 3 || st.Errors != 0 || st.Timeouts != 0 {
		t.Errorf("Stats = %+v, want 3 canceled, no errors", st)
	}
}

// TestServerStopped: with memcached gone, calls fail quickly with errors (not misses, not
// hangs, not panics), and work again on a new server at the same address is not assumed.
func TestServerStopped(t *testing.T) {
	srv := memcachedtest.Start(t)
	s := newStore(t, srv.Addr(), memcached.Options{Timeout: 200 * time.Millisecond})
	if err := s.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	pid := srv.Pid()
	srv.Stop()
	if pid == 0 || srv.Pid() != 0 {
		t.Fatalf("Pid before and after Stop: %d, %d", pid, srv.Pid())
	}
	for range 3 { // the pooled connection first, then fresh dials
		start := time.Now()
		if got, err := s.Get(ctx, "k"); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get with memcached stopped = %q, %v; want an error", got, err)
		}
		if err := s.Set(ctx, "k", []byte("v"), time.Minute); err == nil {
			t.Error("Set with memcached stopped: no error")
		}
		if err := s.Delete(ctx, "k", "k2"); err == nil {
			t.Error("Delete with memcached stopped: no error")
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("three calls took %s with memcached stopped", took)
		}
	}
	if st := s.Stats(); st.Errors != 9 || st.Canceled != 0 {
		t.Errorf("Stats = %+v, want 9 errors", st)
	}
}

func TestStats(t *testing.T) {
	srv := memcachedtest.Start(t)
	s := newStore(t, srv.Addr(), memcached.Options{Timeout: time.Second})
	if err := s.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	_, _ = s.Get(ctx, "k")
	_, _ = s.Get(ctx, "k")
	_, _ = s.Get(ctx, "missing")
	want := store.TierStats{Gets: 3, Hits: 2, Misses: 1}
	if st := s.Stats(); st != want {
		t.Errorf("Stats = %+v, want %+v", st, want)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := memcached.New(nil, memcached.Options{}); err == nil {
		t.Error("New(nil client): no error")
	}
	c := memcache.New("127.0.0.1:1")
	for _, o := range []memcached.Options{
		{Timeout: -1},
		{MaxItemBytes: -1},
		{Prefix: "has space"},
		{Prefix: strings.Repeat("p", 65)},
	} {
		if _, err := memcached.New(c, o); err == nil {
			t.Errorf("New(%+v): no error", o)
		}
	}
	if _, err := memcached.NewFromServers(nil, memcached.Options{}); err == nil {
		t.Error("NewFromServers(no servers): no error")
	}
	if _, err := memcached.NewFromServers([]string{"not a host:port:x"}, memcached.Options{}); err == nil {
		t.Error("NewFromServers(bad address): no error")
	}
}
