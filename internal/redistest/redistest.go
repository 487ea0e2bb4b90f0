// Package redistest starts throw-away redis-server processes for tests.
//
// Every server is a real redis-server found on PATH, bound to loopback (or a
// unix socket), with persistence off and its own temporary directory. It is
// killed by tb.Cleanup, and on Linux also by the kernel when the test binary
// dies without running its cleanups (a test timeout, SIGKILL), so no process
// outlives the test.
//
// When redis-server (or, for clusters, redis-cli) is not on PATH a test using
// this package is skipped with a message, unless STRATA_REQUIRE_REDIS=1, where
// it fails instead.
package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RequireEnv names the environment variable that turns a missing redis-server
// from a skip into a failure when set to "1".
const RequireEnv = "STRATA_REQUIRE_REDIS"

// waitLimit bounds every wait of this package: start-up, PING, shutdown,
// cluster formation.
const waitLimit = 10 * time.Second

// startAttempts is how many fresh ports Start tries before giving up when
// another process takes the chosen port first.
const startAttempts = 5

// Option configures Start.
type Option func(*config)

type config struct {
	unix bool
	args []string
}

// WithUnixSocket makes the server listen on a unix socket in a fresh
// temporary directory instead of a TCP port.
func WithUnixSocket() Option { return func(c *config) { c.unix = true } }

// WithArgs appends redis-server command line arguments, for example
// WithArgs("--maxmemory", "10mb").
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// Server is one redis-server process. Its methods are safe for concurrent use.
type Server struct {
	tb      testing.TB
	network string // "tcp" or "unix"
	addr    string // host:port or socket path
	args    []string

	mu   sync.Mutex
	proc *proc // nil while stopped
	logs *logBuffer
}

// Start starts a redis-server on a free 127.0.0.1 port (or a unix socket with
// WithUnixSocket), waits until it answers PING and registers its shutdown
// with tb.Cleanup. It skips the test when redis-server is not installed (see
// RequireEnv) and fails it when the server cannot be started within 10 s.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	bin, ok := lookPath(tb, "redis-server")
	if !ok {
		return nil
	}
	dir := tb.TempDir()
	s := &Server{tb: tb, logs: newLogBuffer()}
	tb.Cleanup(func() {
		s.kill()
		if tb.Failed() {
			tb.Logf("redistest: redis-server %s log:\n%s", s.addr, s.logs.String())
		}
	})

	common := []string{"--save", "", "--appendonly", "no", "--dir", dir, "--loglevel", "notice"}
	if cfg.unix {
		// Socket paths are limited to ~108 bytes, and tb.TempDir paths embed the
		// test name, so the socket lives in a short directory of its own.
		sdir, err := os.MkdirTemp("", "rt")
		if err != nil {
			tb.Fatalf("redistest: %v", err)
			return nil
		}
		tb.Cleanup(func() { _ = os.RemoveAll(sdir) })
		s.network, s.addr = "unix", filepath.Join(sdir, "redis.sock")
		s.args = append(common, "--port", "0", "--unixsocket", s.addr, "--unixsocketperm", "700")
		s.args = append(s.args, cfg.args...)
		p, err := startProc(bin, s.args, s.network, s.addr, s.logs)
		if err != nil {
			tb.Fatalf("redistest: %v", err)
			return nil
		}
		s.proc = p
		return s
	}

	s.network = "tcp"
	var lastErr error
	for range startAttempts {
		port, err := pickPort(false)
		if err != nil {
			tb.Fatalf("redistest: no free port: %v", err)
			return nil
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.args = append(append([]string{}, common...), "--bind", "127.0.0.1", "--port", strconv.Itoa(port))
		s.args = append(s.args, cfg.args...)
		p, err := startProc(bin, s.args, s.network, s.addr, s.logs)
		if err == nil {
			s.proc = p
			return s
		}
		lastErr = err
		if !isAddrInUse(err) {
			break
		}
		tb.Logf("redistest: port %d was taken, trying another", port)
	}
	tb.Fatalf("redistest: %v", lastErr)
	return nil
}

// Addr returns the server's address: "127.0.0.1:port", or the socket path
// for a unix-socket server.
func (s *Server) Addr() string { return s.addr }

// Network returns "tcp" or "unix".
func (s *Server) Network() string { return s.network }

// URL returns a go-redis URL for database 0: redis://127.0.0.1:port/0, or
// unix:///path/redis.sock?db=0.
func (s *Server) URL() string {
	if s.network == "unix" {
		return "unix://" + s.addr + "?db=0"
	}
	return "redis://" + s.addr + "/0"
}

// Options returns go-redis options for this server, with
// ContextTimeoutEnabled set so that context deadlines bound each call.
func (s *Server) Options() *redis.Options {
	return &redis.Options{Network: s.network, Addr: s.addr, ContextTimeoutEnabled: true}
}

// Client returns a new client for this server (see Options), closed by
// tb.Cleanup.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(s.Options())
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Pid returns the process id of the running server, or 0 while stopped.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.Pid()
}

// Stop kills the server (SIGKILL, like a crash) and waits for it to exit.
// The address is kept for Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.kill()
}

// Restart stops the server if it runs and starts it again on the same
// address with the same configuration (and, persistence being off, no data).
// It fails the test when the address cannot be bound again within 10 s.
func (s *Server) Restart() {
	s.tb.Helper()
	s.kill()
	bin, ok := lookPath(s.tb, "redis-server")
	if !ok {
		return
	}
	deadline := time.Now().Add(waitLimit)
	for {
		p, err := startProc(bin, s.args, s.network, s.addr, s.logs)
		if err == nil {
			s.mu.Lock()
			s.proc = p
			s.mu.Unlock()
			return
		}
		if !isAddrInUse(err) || time.Now().After(deadline) {
			s.tb.Fatalf("redistest: restart on %s: %v", s.addr, err)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pause freezes the server with SIGSTOP: connections stay open but nothing
// is answered, like an overloaded or partitioned Redis. Resume undoes it;
// cleanup kills a paused server too.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.tb.Helper()
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		s.tb.Fatalf("redistest: %v: server %s is stopped", sig, s.addr)
		return
	}
	if err := p.Signal(sig); err != nil {
		s.tb.Fatalf("redistest: %v: %v", sig, err)
	}
}

func (s *Server) kill() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.Kill(waitLimit)
	}
}

// lookPath finds a binary on PATH, skipping (or, with RequireEnv=1, failing)
// the test when it is missing.
func lookPath(tb testing.TB, name string) (string, bool) {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p, true
	}
	msg := fmt.Sprintf("redistest: %s not found on PATH (on Debian: apt-get install redis-server)", name)
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("%s; %s=1 requires it", msg, RequireEnv)
	} else {
		tb.Skipf("%s; skipping (set %s=1 to fail instead)", msg, RequireEnv)
	}
	return "", false
}

// pickPort returns a loopback port that was free a moment ago. With
// clusterBus it also requires port+10000 (the cluster bus port) to be free and
// valid. Tests replace it to provoke collisions.
var pickPort = func(clusterBus bool) (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !clusterBus {
			_ = l.Close()
			return port, nil
		}
		if port+10000 > 65535 {
			_ = l.Close()
			continue
		}
		bus, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		_ = l.Close()
		if err != nil {
			continue
		}
		_ = bus.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port pair found")
}

func isAddrInUse(err error) bool {
	return err != nil && strings.Contains(err.Error(), "already in use")
}
