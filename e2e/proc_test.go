package e2e

import (
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitLimit bounds every start-up and shutdown wait.
const waitLimit = 20 * time.Second

// chromeBlockedPorts are ports Chromium refuses to connect to (net/base/port_util.cc,
// ERR_UNSAFE_PORT) that a free-port pick could land on outside the usual ephemeral range.
var chromeBlockedPorts = []int{
	1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566,
	6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
}

// freePort returns a loopback port nobody listens on now (another process may take it before
// the caller does: starters retry on "address in use").
func freePort(t testing.TB) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if port > 1023 && !slices.Contains(chromeBlockedPorts, port) {
			return port
		}
	}
	t.Fatal("e2e: no free loopback port")
	return 0
}

// proc is one started server process (varnishd, the demo).
type proc struct {
	name string
	cmd  *exec.Cmd
	logs *logBuffer
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // Wait's result, set before done is closed
}

// start runs bin with args and env (added to the test's), its output kept in a buffer. The
// process is stopped by t.Cleanup (SIGTERM, then SIGKILL), and its output is logged when the
// test failed.
func start(t testing.TB, name, bin string, args, env []string) (*proc, error) {
	t.Helper()
	cmd := exec.Command(bin, args...) //nolint:gosec // G204: the test's own servers (varnishd, the demo), started with arguments it builds
	logs := &logBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(cmd.Environ(), env...)
	cmd.SysProcAttr = sysProcAttr()
	p := &proc{name: name, cmd: cmd, logs: logs, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal is tied to the thread that forks: keep it for as long as
		// the process runs.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("e2e: %s (pid %d) output:\n%s", name, cmd.Process.Pid, logs.String())
		}
	})
	return p, nil
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process by its PID: SIGTERM (varnishd then stops its child, the demo shuts
// down), then SIGKILL if it is still running after 5 s.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(5 * time.Second):
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(waitLimit):
	}
}

// waitReady polls ready until it returns nil, the process exits or waitLimit passes.
func (p *proc) waitReady(ready func() error) error {
	deadline := time.Now().Add(waitLimit)
	for {
		if p.exited() {
			return fmt.Errorf("%s exited during start-up (%v):\n%s", p.name, p.err, p.logs.String())
		}
		err := ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %s (%v):\n%s", p.name, waitLimit, err, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logBuffer collects a process's output, keeping the last 64 KiB.
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if over := len(l.buf) - 64<<10; over > 0 {
		l.buf = append(l.buf[:0], l.buf[over:]...)
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}

func (l *logBuffer) contains(s string) bool { return strings.Contains(l.String(), s) }
