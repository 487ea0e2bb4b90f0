package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child process. Every child is registered until it has exited, so killAll
// (deferred in main, and run on SIGINT/SIGTERM) never leaves one behind. On Linux the kernel
// also kills a child when the tool itself dies (Pdeathsig), for the cases no code runs.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // Wait's result, set before done is closed
	out  *syncBuffer   // stdout and stderr
}

var procs = struct {
	sync.Mutex
	m map[*proc]struct{}
}{m: map[*proc]struct{}{}}

// pin prefixes argv with taskset when a CPU is given and taskset exists. taskset execs the
// program, so the child's pid is the program's.
func pin(cpu string, argv []string) []string {
	if cpu == "" || tasksetPath == "" {
		return argv
	}
	return append([]string{tasksetPath, "-c", cpu}, argv...)
}

// startProc starts argv with env added to the tool's environment.
func startProc(name string, argv, env []string) (*proc, error) {
	return startProcIn("", name, argv, env)
}

// startProcIn is startProc in the working directory dir ("" = the tool's).
func startProcIn(dir, name string, argv, env []string) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), out: out}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal is tied to the thread that forks: that thread stays
		// locked to this goroutine, used by nothing else, while the child runs.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		procs.Lock()
		if procs.m == nil {
			procs.Unlock()
			started <- errors.New("shutting down")
			return
		}
		err := cmd.Start()
		if err == nil {
			procs.m[p] = struct{}{}
		}
		procs.Unlock()
		started <- err
		if err != nil {
			return
		}
		p.err = cmd.Wait()
		procs.Lock()
		if procs.m != nil {
			delete(procs.m, p)
		}
		procs.Unlock()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to exit (SIGTERM), waits up to grace, then kills it.
func (p *proc) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// kill sends SIGKILL and waits (bounded) for the exit.
func (p *proc) kill() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// wait waits for the process to exit, killing it when ctx ends first.
func (p *proc) wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		p.kill()
		return ctx.Err()
	}
}

// killAll kills every child still running and refuses new ones.
func killAll() {
	procs.Lock()
	list := make([]*proc, 0, len(procs.m))
	for p := range procs.m {
		list = append(list, p)
	}
	procs.m = nil
	procs.Unlock()
	for _, p := range list {
		p.kill()
	}
}

// waitLine waits until the process prints a line starting with prefix and returns the rest.
func (p *proc) waitLine(ctx context.Context, prefix string, limit time.Duration) (string, error) {
	deadline := time.Now().Add(limit)
	for {
		for _, l := range strings.Split(p.out.String(), "\n") {
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return strings.TrimSpace(rest), nil
			}
		}
		if p.exited() {
			return "", fmt.Errorf("%s exited (%v):\n%s", p.name, p.err, tail(p.out.String(), 2000))
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s printed no %q within %s:\n%s", p.name, prefix, limit, tail(p.out.String(), 2000))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 4<<20 { // bound what a chatty child can make us hold
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ---- /proc ----

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
var clockTicks = func() float64 {
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && v > 0 {
			return float64(v)
		}
	}
	return 100
}()

// cpuTime returns the user+system CPU time the process has used, all threads included.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces; fields after it are space-separated.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration((ut + st) / clockTicks * float64(time.Second)), nil
}

// procStatus returns a field of /proc/<pid>/status in bytes (VmRSS, VmHWM, …).
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	return statusField(f, field)
}

func statusField(r io.Reader, field string) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, err
		}
		if len(f) > 1 && f[1] == "kB" {
			v <<= 10
		}
		return v, nil
	}
	return 0, fmt.Errorf("no %s in status", field)
}

// allowedCPUs lists the CPUs this process may run on (its affinity mask).
func allowedCPUs() []string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	for _, l := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(l, "Cpus_allowed_list:")
		if !ok {
			continue
		}
		var cpus []string
		for _, part := range strings.Split(strings.TrimSpace(rest), ",") {
			lo, hi, isRange := strings.Cut(part, "-")
			a, err := strconv.Atoi(lo)
			if err != nil {
				continue
			}
			z := a
			if isRange {
				if z, err = strconv.Atoi(hi); err != nil {
					continue
				}
			}
			for c := a; c <= z; c++ {
				cpus = append(cpus, strconv.Itoa(c))
			}
		}
		return cpus
	}
	return nil
}

// cpuBusy returns the time CPU cpu spent running tasks (user, nice, system and steal, from
// /proc/stat). Interrupt and softirq time is left out: on loopback much of it is the
// benchmark's own network traffic, which no process is charged for.
func cpuBusy(cpu string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 9 || f[0] != "cpu"+cpu {
			continue
		}
		var busy float64
		for _, i := range []int{1, 2, 3, 8} { // user nice system idle iowait irq softirq steal
			x, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return 0, err
			}
			busy += x
		}
		return time.Duration(busy / clockTicks * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("no cpu%s in /proc/stat", cpu)
}
