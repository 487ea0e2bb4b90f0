// Package memcachedtest starts throw-away memcached processes for tests.
//
// Every server is a real memcached (found on PATH or at /usr/bin/memcached), listening on a
// free 127.0.0.1 port with UDP off and 64 MB of memory. It is killed, by its PID, in
// tb.Cleanup, and on Linux also by the kernel when the test binary dies without running its
// cleanups (Pdeathsig), so no process outlives the test. Nothing here stops a process by name.
//
// When memcached is not installed a test using this package is skipped with a message, unless
// STRATA_REQUIRE_MEMCACHED=1 or STRATA_REQUIRE_E2E=1, where it fails instead.
package memcachedtest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-cache/strata/internal/testproc"
)

// RequireEnv and RequireE2EEnv name the environment variables that turn a missing memcached
// from a skip into a failure when set to "1".
const (
	RequireEnv    = "STRATA_REQUIRE_MEMCACHED"
	RequireE2EEnv = "STRATA_REQUIRE_E2E"
)

// waitLimit bounds start-up and shutdown.
const waitLimit = 10 * time.Second

// startAttempts is how many fresh ports Start tries when another process takes one first.
const startAttempts = 5

// Server is one memcached process. Its methods are safe for concurrent use.
type Server struct {
	addr string
	logs *testproc.LogBuffer

	mu   sync.Mutex
	proc *testproc.Proc // nil once stopped
}

// Start starts `memcached -l 127.0.0.1 -p <free port> -U 0 -m 64` plus args, waits until it
// answers "version", and registers its shutdown with tb.Cleanup. It skips the test when
// memcached is not installed (see RequireEnv) and fails it when the server does not answer
// within 10 s.
func Start(tb testing.TB, args ...string) *Server {
	tb.Helper()
	bin, ok := lookPath(tb)
	if !ok {
		return nil
	}
	s := &Server{logs: new(testproc.LogBuffer)}
	tb.Cleanup(func() {
		s.Stop()
		if tb.Failed() {
			tb.Logf("memcachedtest: memcached %s log:\n%s", s.addr, s.logs.String())
		}
	})
	var lastErr error
	for range startAttempts {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("memcachedtest: no free port: %v", err)
			return nil
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		a := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "64"}
		if os.Geteuid() == 0 {
			a = append(a, "-u", "root") // memcached refuses to run as root without -u
		}
		a = append(a, args...)
		p, err := startProc(bin, a, s.addr, s.logs)
		if err == nil {
			s.mu.Lock()
			s.proc = p
			s.mu.Unlock()
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), "in use") {
			break
		}
		tb.Logf("memcachedtest: port %d was taken, trying another", port)
	}
	tb.Fatalf("memcachedtest: %v", lastErr)
	return nil
}

// Addr returns the server's "127.0.0.1:port" address.
func (s *Server) Addr() string { return s.addr }

// Pid returns the process id of the running server, or 0 once stopped.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.Pid()
}

// Stop kills the server (SIGKILL, like a crash) and waits for it to exit. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.Kill(waitLimit)
	}
}

// fallbackPath is where Debian installs memcached, tried when it is not on PATH. Tests clear it.
var fallbackPath = "/usr/bin/memcached"

// lookPath finds memcached on PATH or at /usr/bin/memcached, skipping (or, with RequireEnv or
// RequireE2EEnv set to 1, failing) the test when it is missing.
func lookPath(tb testing.TB) (string, bool) {
	tb.Helper()
	if p, err := exec.LookPath("memcached"); err == nil {
		return p, true
	}
	if fallbackPath != "" {
		if fi, err := os.Stat(fallbackPath); err == nil && !fi.IsDir() {
			return fallbackPath, true
		}
	}
	msg := "memcachedtest: memcached not found on PATH (on Debian: apt-get install memcached)"
	for _, env := range []string{RequireEnv, RequireE2EEnv} {
		if os.Getenv(env) == "1" {
			tb.Fatalf("%s; %s=1 requires it", msg, env)
			return "", false
		}
	}
	tb.Skipf("%s; skipping (set %s=1 to fail instead)", msg, RequireEnv)
	return "", false
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	return port, nil
}

// startProc runs bin with args, its output going to logs, and waits (at most waitLimit) until
// the server at addr answers "version".
func startProc(bin string, args []string, addr string, logs *testproc.LogBuffer) (*testproc.Proc, error) {
	return testproc.Start(bin, args, logs, waitLimit, func() error { return ping(addr, 200*time.Millisecond) })
}

// ping sends "version" over a fresh connection and expects "VERSION ...".
func ping(addr string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte("version\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "VERSION ") {
		return fmt.Errorf("unexpected answer to version: %q", line)
	}
	return nil
}
