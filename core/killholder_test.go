package core

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strata-cache/strata/internal/redistest"
	"github.com/strata-cache/strata/internal/testproc"
	"github.com/strata-cache/strata/store/redisstore"
)

// holderEnv names the Redis address a child process of the test binary fills against: set,
// the binary is the lock holder of TestKilledLockHolder and never runs the tests (see
// TestMain).
const holderEnv = "STRATA_TEST_LOCK_HOLDER"

// runLockHolder is the child of TestKilledLockHolder: an instance of the fleet whose origin
// never returns. It prints "origin running" once it holds the fleet's fill lock and its
// handler runs, then waits to be killed.
func runLockHolder(addr string) {
	rs, err := redisstore.New(redis.NewClient(&redis.Options{Addr: addr}), redisstore.Options{Prefix: "kill", Timeout: slowTolerant})
	if err != nil {
		fmt.Println("holder:", err)
		os.Exit(2)
	}
	c, err := New(Config{Namespace: "kill", L2: rs})
	if err != nil {
		fmt.Println("holder:", err)
		os.Exit(2)
	}
	stopped := os.Getenv(holderModeEnv) == "stop"
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Println("origin running")
		if !stopped {
			select {} // killed mid-fill
		}
		// Stopped (SIGSTOP) during this sleep, resumed long after: the answer it then
		// stores was read before a PUT and a purge elsewhere.
		time.Sleep(500 * time.Millisecond)
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("v1"))
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil))
	fmt.Println("fill done")
	time.Sleep(time.Second) // the bus messages that arrived while stopped are handled
	_ = c.Close()
	_ = rs.Close()
}

// holderModeEnv is "stop" for TestStoppedLockHolder's child (its origin returns after a
// sleep), empty for TestKilledLockHolder's (its origin never returns).
const holderModeEnv = "STRATA_TEST_LOCK_HOLDER_MODE"

// startHolder starts the lock holder child against srv and returns once its origin runs,
// holding the fleet's fill lock of /slow.
func startHolder(t *testing.T, srv *redistest.Server, mode string) (*testproc.Proc, *testproc.LogBuffer) {
	t.Helper()
	t.Setenv(holderEnv, srv.Addr())
	t.Setenv(holderModeEnv, mode)
	logs := new(testproc.LogBuffer)
	child, err := testproc.Start(os.Args[0], []string{"-test.run=^$"}, logs, 20*time.Second, func() error {
		if !strings.Contains(logs.String(), "origin running") {
			return fmt.Errorf("no fill yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Kill(5 * time.Second) })
	locks, err := srv.Client(t).Keys(context.Background(), "kill*"+lockSuffix).Result()
	if err != nil || len(locks) != 1 {
		t.Fatalf("the holder's fill lock in Redis: %q, %v; want one", locks, err)
	}
	return child, logs
}

// TestStoppedLockHolder: another process of the fleet holds the fill lock and is stopped
// (SIGSTOP: a long GC pause, a frozen VM) after its origin read v1. Meanwhile this instance
// changes the data (v2), purges, and fills after the holder's lock expired. Resumed, the
// holder stores its v1 late: the fence (or its retraction once it reads the purge) must keep
// v1 out of the L2, so a new instance never answers it.
func TestStoppedLockHolder(t *testing.T) {
	srv := redistest.Start(t)
	if srv == nil {
		return
	}
	child, logs := startHolder(t, srv, "stop")
	if err := child.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	client := srv.Client(t)
	origin := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = w.Write([]byte("v2"))
	}
	b := newL2Cache(t, client, Config{Namespace: "kill"}, redisOpts{Timeout: slowTolerant})
	hb := b.Middleware(http.HandlerFunc(origin))
	if _, err := b.Purge(context.Background(), "http://example.com/slow"); err != nil { // the PUT's purge
		t.Fatal(err)
	}
	if got := body(do(t, hb, "GET", "/slow")); got != "v2" { // waits out the stopped holder's lock
		t.Fatalf("B: %q, want v2", got)
	}
	if err := child.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if _, ok := waitFor(10*time.Second, func() bool { return strings.Contains(logs.String(), "fill done") }); !ok {
		t.Fatalf("the resumed holder did not finish its fill:\n%s", logs)
	}
	select {
	case <-child.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the holder did not exit")
	}
	// Every new instance reads what the L2 holds: v2 or nothing, never the late v1.
	for i := range 3 {
		c := newL2Cache(t, client, Config{Namespace: "kill"}, redisOpts{Timeout: slowTolerant})
		if got := body(do(t, c.Middleware(http.HandlerFunc(origin)), "GET", "/slow")); got != "v2" {
			t.Fatalf("a new instance (%d) answers %q: the stopped holder's late write was kept", i, got)
		}
	}
	if got := body(do(t, hb, "GET", "/slow")); got != "v2" {
		t.Fatalf("B answers %q after the holder resumed, want v2", got)
	}
}

// TestKilledLockHolder: another process of the fleet holds the fill lock of a key and is
// killed (SIGKILL) mid-fill while 50 requests on this instance wait for it. Its lock is no
// longer extended and expires within LockTTL; one waiter then fills: the killed holder costs
// one extra origin run across the fleet, and every waiter is answered, with the same body,
// within the lock TTL plus the origin time of the kill. Defaults for LockWait and LockTTL.
func TestKilledLockHolder(t *testing.T) {
	srv := redistest.Start(t)
	if srv == nil {
		return
	}
	client := srv.Client(t)
	child, _ := startHolder(t, srv, "")

	const origin = 200 * time.Millisecond
	c := newL2Cache(t, client, Config{Namespace: "kill"}, redisOpts{Timeout: slowTolerant})
	if c.cfg.LockTTL != 3*time.Second || c.cfg.LockWait != 3*time.Second {
		t.Fatalf("defaults changed: LockTTL %s, LockWait %s; revisit this test's bound", c.cfg.LockTTL, c.cfg.LockWait)
	}
	var runs atomic.Int64
	h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := runs.Add(1)
		time.Sleep(origin)
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = fmt.Fprintf(w, "run %d", n)
	}))

	const waiters = 50
	var wg sync.WaitGroup
	bodies := make(chan string, waiters)
	answered := make(chan time.Time, waiters)
	for range waiters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := do(t, h, "GET", "/slow")
			answered <- time.Now()
			bodies <- fmt.Sprintf("%d %s", w.Code, w.Body.String())
		}()
	}
	time.Sleep(300 * time.Millisecond) // every waiter waits for the holder
	if n := runs.Load(); n != 0 {
		t.Fatalf("%d origin runs while the holder lives; want 0", n)
	}
	killed := time.Now()
	child.Kill(5 * time.Second)
	wg.Wait()
	close(bodies)
	close(answered)

	if n := runs.Load(); n != 1 {
		t.Errorf("origin runs on this instance after the holder died: %d, want 1", n)
	}
	for b := range bodies {
		if b != "200 run 1" {
			t.Errorf("a waiter got %q, want 200 run 1", b)
		}
	}
	var last time.Duration
	for at := range answered {
		last = max(last, at.Sub(killed))
	}
	// Bound: the holder's lock lives at most LockTTL after the kill, then one origin run; the
	// slack is for a loaded CI machine, not for the mechanism.
	bound := c.cfg.LockTTL + origin
	t.Logf("last waiter answered %s after the kill (bound %s)", last.Round(time.Millisecond), bound)
	if last > bound+time.Second {
		t.Errorf("last waiter answered %s after the kill; want within LockTTL + origin (%s)", last, bound)
	}
}
