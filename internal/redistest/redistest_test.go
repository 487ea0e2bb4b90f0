package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func ping(tb testing.TB, c redis.UniversalClient) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		tb.Fatalf("PING: %v", err)
	}
}

func TestStart(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("Addr() = %q, want a 127.0.0.1 address", s.Addr())
	}
	if got, want := s.URL(), "redis://"+s.Addr()+"/0"; got != want {
		t.Fatalf("URL() = %q, want %q", got, want)
	}
	c := s.Client(t)
	ping(t, c)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// Persistence is off.
	if got, err := c.ConfigGet(ctx, "save").Result(); err != nil || got["save"] != "" {
		t.Fatalf("CONFIG GET save = %v, %v; want empty", got, err)
	}
	if got, err := c.ConfigGet(ctx, "appendonly").Result(); err != nil || got["appendonly"] != "no" {
		t.Fatalf("CONFIG GET appendonly = %v, %v; want no", got, err)
	}

	opt, err := redis.ParseURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	c2 := redis.NewClient(opt)
	defer func() { _ = c2.Close() }()
	if got, err := c2.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET via URL() = %q, %v; want %q", got, err, "v")
	}
}

func TestUnixSocket(t *testing.T) {
	s := Start(t, WithUnixSocket())
	if s.Network() != "unix" || !strings.HasSuffix(s.Addr(), ".sock") {
		t.Fatalf("Network(), Addr() = %q, %q; want unix and a socket path", s.Network(), s.Addr())
	}
	ping(t, s.Client(t))
	opt, err := redis.ParseURL(s.URL())
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", s.URL(), err)
	}
	c := redis.NewClient(opt)
	defer func() { _ = c.Close() }()
	ping(t, c)
}

func TestWithArgs(t *testing.T) {
	s := Start(t, WithArgs("--maxmemory", "7mb"))
	got, err := s.Client(t).ConfigGet(context.Background(), "maxmemory").Result()
	if err != nil || got["maxmemory"] != strconv.Itoa(7<<20) {
		t.Fatalf("CONFIG GET maxmemory = %v, %v; want %d", got, err, 7<<20)
	}
}

func TestStopRestart(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	addr, pid := s.Addr(), s.Pid()

	s.Stop()
	if s.Pid() != 0 {
		t.Fatalf("Pid() after Stop = %d, want 0", s.Pid())
	}
	if _, err := command("tcp", addr, 200*time.Millisecond, "PING"); err == nil {
		t.Fatal("PING answered after Stop")
	}
	s.Stop() // idempotent

	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("Addr() after Restart = %q, want %q", s.Addr(), addr)
	}
	if s.Pid() == pid || s.Pid() == 0 {
		t.Fatalf("Pid() after Restart = %d, want a new process (old %d)", s.Pid(), pid)
	}
	ping(t, c) // the old client reconnects
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET after restart: err = %v, want redis.Nil (no persistence)", err)
	}
}

func TestPauseResume(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	ping(t, c)

	s.Pause()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	start := time.Now()
	err := c.Ping(ctx).Err()
	cancel()
	if err == nil {
		t.Fatal("PING answered while paused")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("PING against a paused server took %s; the context deadline should bound it", d)
	}

	s.Resume()
	ping(t, c)
}

func TestCleanupKillsPausedServer(t *testing.T) {
	var pid int
	t.Run("inner", func(t *testing.T) {
		s := Start(t)
		pid = s.Pid()
		s.Pause()
	})
	waitGone(t, pid)
}

func TestPortCollisionRetried(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = busy.Close() }()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	orig := pickPort
	t.Cleanup(func() { pickPort = orig })
	calls := 0
	pickPort = func(bus bool) (int, error) {
		calls++
		if calls == 1 {
			return busyPort, nil // as if another process took it after we probed
		}
		return orig(bus)
	}
	s := Start(t)
	if calls < 2 {
		t.Fatalf("pickPort called %d times, want a retry", calls)
	}
	if s.Addr() == busy.Addr().String() {
		t.Fatalf("server claims the busy address %s", s.Addr())
	}
	ping(t, s.Client(t))
}

func TestCluster(t *testing.T) {
	start := time.Now()
	cl := StartCluster(t, 3)
	t.Logf("cluster of 3 up in %s", time.Since(start).Round(time.Millisecond))
	if n := len(cl.Addrs()); n != 3 {
		t.Fatalf("len(Addrs()) = %d, want 3", n)
	}
	c := cl.Client(t)
	ctx := context.Background()
	for i := range 100 {
		k := "key" + strconv.Itoa(i)
		if err := c.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	var masters, total atomic.Int64
	err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		masters.Add(1) // ForEachMaster calls fn concurrently
		total.Add(n)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if masters.Load() != 3 || total.Load() != 100 {
		t.Fatalf("masters, keys = %d, %d; want 3, 100", masters.Load(), total.Load())
	}
	for _, a := range cl.Addrs() {
		info, err := command("tcp", a, time.Second, "CLUSTER", "INFO")
		if err != nil || !strings.Contains(info, "cluster_state:ok") {
			t.Fatalf("CLUSTER INFO on %s: %v\n%s", a, err, info)
		}
	}
}

func TestStartClusterRejectsTooFewMasters(t *testing.T) {
	ft := &fakeTB{TB: t}
	func() {
		defer ft.recoverStop()
		StartCluster(ft, 2)
	}()
	if !strings.Contains(ft.fatal, "at least 3 masters") {
		t.Fatalf("fatal = %q, want a message about 3 masters", ft.fatal)
	}
}

// fakeTB records Skip and Fatal instead of ending the goroutine.
type fakeTB struct {
	testing.TB
	skipped, fatal string
}

type stopNow struct{}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
	panic(stopNow{})
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	panic(stopNow{})
}
func (f *fakeTB) recoverStop() {
	if r := recover(); r != nil {
		if _, ok := r.(stopNow); !ok {
			panic(r)
		}
	}
}

func TestMissingRedisSkipsOrFails(t *testing.T) {
	t.Setenv("PATH", t.TempDir())

	t.Setenv(RequireEnv, "")
	ft := &fakeTB{TB: t}
	func() {
		defer ft.recoverStop()
		Start(ft)
	}()
	if !strings.Contains(ft.skipped, "redis-server not found") || ft.fatal != "" {
		t.Fatalf("without %s: skipped %q, fatal %q; want a skip naming redis-server", RequireEnv, ft.skipped, ft.fatal)
	}

	t.Setenv(RequireEnv, "1")
	ft = &fakeTB{TB: t}
	func() {
		defer ft.recoverStop()
		StartCluster(ft, 3)
	}()
	if !strings.Contains(ft.fatal, "not found") || ft.skipped != "" {
		t.Fatalf("with %s=1: skipped %q, fatal %q; want a failure", RequireEnv, ft.skipped, ft.fatal)
	}
}
