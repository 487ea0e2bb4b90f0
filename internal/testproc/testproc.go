// Package testproc starts the servers tests run against (redis-server, memcached) as child
// processes, and ends exactly those, by PID: the shared half of internal/redistest and
// internal/memcachedtest. A server also dies with the test binary (Pdeathsig on Linux), so a
// test that panics or times out leaves none behind.
package testproc

import (
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Proc is one started process.
type Proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // Wait's result, set before done is closed
}

// Start runs bin with args, its output going to logs, and waits until ready reports nil
// (asked every 10 ms), at most limit. On failure the process is killed and the error carries
// the log it wrote meanwhile.
func Start(bin string, args []string, logs *LogBuffer, limit time.Duration, ready func() error) (*Proc, error) {
	cmd := exec.Command(bin, args...) //nolint:gosec // a test helper starting a server with the arguments its caller built
	cmd.Stdout = logs
	cmd.Stderr = logs
	cmd.SysProcAttr = sysProcAttr()
	mark := logs.Len()
	p := &Proc{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal (see sysProcAttr) is tied to the thread that forks, so
		// that thread is kept by this goroutine, and used by nothing else, for as long as
		// the server runs.
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
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited during start-up (%v):\n%s", bin, p.err, logs.Since(mark))
		default:
		}
		err := ready()
		if err == nil {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.Kill(limit)
			return nil, fmt.Errorf("%s not ready within %s (%v):\n%s", bin, limit, err, logs.Since(mark))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Pid is the process's id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// Done is closed once the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Kill sends SIGKILL (which also ends a SIGSTOPped process) and waits for the exit, at most
// limit.
func (p *Proc) Kill(limit time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(limit):
	}
}

// LogBuffer keeps the last 64 KiB a process wrote. Safe for concurrent use.
type LogBuffer struct {
	mu      sync.Mutex
	buf     []byte
	dropped int // bytes dropped from the front
}

const maxLog = 64 << 10

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if over := len(l.buf) - maxLog; over > 0 {
		l.buf = append(l.buf[:0], l.buf[over:]...)
		l.dropped += over
	}
	return len(p), nil
}

// Len returns the total number of bytes ever written.
func (l *LogBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped + len(l.buf)
}

// Since returns what was written after total offset mark (as far as kept).
func (l *LogBuffer) Since(mark int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := min(max(mark-l.dropped, 0), len(l.buf))
	return string(l.buf[i:])
}

func (l *LogBuffer) String() string { return l.Since(0) }
