package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one started process.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // Wait's result, set before done is closed
}

// startProc runs bin with args, sending its output to logs, and waits (at
// most waitLimit) until the server at network/addr answers PING. On failure
// the process is killed and the error carries the tail of its log.
func startProc(bin string, args []string, network, addr string, logs *logBuffer) (*proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logs
	cmd.Stderr = logs
	cmd.SysProcAttr = sysProcAttr()
	mark := logs.Len()
	p := &proc{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal (see sysProcAttr) is tied to the thread that
		// forks, so that thread is kept by this goroutine, and used by nothing
		// else, for as long as the server runs.
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

	deadline := time.Now().Add(waitLimit)
	for {
		select {
		case <-p.done:
			out := logs.Since(mark)
			return nil, fmt.Errorf("%s %s exited during start-up (%v):\n%s", bin, addr, p.err, out)
		default:
		}
		reply, err := command(network, addr, 200*time.Millisecond, "PING")
		if err == nil && reply == "PONG" {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("%s %s did not answer PING within %s (last: %q, %v):\n%s",
				bin, addr, waitLimit, reply, err, logs.Since(mark))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill sends SIGKILL (which also ends a SIGSTOPped process) and waits for
// the exit, bounded by waitLimit.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(waitLimit):
	}
}

// command sends one command over a fresh connection and returns the reply
// as a string: the text of a simple string, bulk string or integer. An error
// reply is returned as an error.
func command(network, addr string, timeout time.Duration, args ...string) (string, error) {
	conn, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write(b.Bytes()); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("bad bulk reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := readFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

func readFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// logBuffer collects a process's output, keeping the last maxLog bytes.
type logBuffer struct {
	mu      sync.Mutex
	buf     []byte
	dropped int // bytes dropped from the front
}

const maxLog = 64 << 10

func newLogBuffer() *logBuffer { return &logBuffer{} }

func (l *logBuffer) Write(p []byte) (int, error) {
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
func (l *logBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped + len(l.buf)
}

// Since returns what was written after total offset mark (as far as kept).
func (l *logBuffer) Since(mark int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := mark - l.dropped
	if i < 0 {
		i = 0
	}
	if i > len(l.buf) {
		i = len(l.buf)
	}
	return string(l.buf[i:])
}

func (l *logBuffer) String() string { return l.Since(0) }
