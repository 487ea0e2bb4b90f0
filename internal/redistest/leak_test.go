package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const leakHelperEnv = "REDISTEST_LEAK_HELPER"

// TestLeakHelper is run in a child process by TestNoServerLeft; on its own
// it does nothing.
func TestLeakHelper(t *testing.T) {
	mode := os.Getenv(leakHelperEnv)
	if mode == "" {
		return
	}
	s := Start(t)
	fmt.Printf("PID=%d\n", s.Pid())
	_ = os.Stdout.Sync()
	switch mode {
	case "fatal":
		t.Fatal("deliberate failure")
	case "panic":
		panic("deliberate panic")
	case "exit": // like a -timeout panic: no cleanup runs
		os.Exit(3)
	}
}

// TestNoServerLeft checks that no redis-server outlives a test binary that
// fails, panics or exits without running its cleanups.
func TestNoServerLeft(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		lookPath(t, "redis-server")
	}
	becomeSubreaper(t)
	for _, mode := range []string{"fatal", "panic", "exit"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestLeakHelper$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), leakHelperEnv+"="+mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("helper succeeded, want a failure:\n%s", out)
			}
			pid := 0
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "PID="); ok {
					pid, _ = strconv.Atoi(v)
				}
			}
			if pid == 0 {
				t.Fatalf("helper printed no PID:\n%s", out)
			}
			waitGone(t, pid)
			if mode == "fatal" && !strings.Contains(string(out), "redistest: redis-server") {
				t.Errorf("failed test's output lacks the server log:\n%s", out)
			}
		})
	}
}

// waitGone waits until pid has exited (reaping it if it became our child).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil) // reaps an orphan we adopted
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			stat, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			t.Fatalf("redis-server pid %d still exists (kill 0: %v; stat %s)", pid, err, stat)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
