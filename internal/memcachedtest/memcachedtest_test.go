//go:build unix

package memcachedtest

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

func TestStartStop(t *testing.T) {
	s := Start(t)
	if err := ping(s.Addr(), waitLimit); err != nil {
		t.Fatalf("ping %s: %v", s.Addr(), err)
	}
	pid := s.Pid()
	if pid == 0 {
		t.Fatal("Pid() = 0 while running")
	}
	s.Stop()
	if s.Pid() != 0 {
		t.Fatalf("Pid() = %d after Stop", s.Pid())
	}
	// Stopped and reaped: the PID names no process of ours any more.
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("kill(%d, 0) after Stop = %v, want ESRCH", pid, err)
	}
	if err := ping(s.Addr(), waitLimit); err == nil {
		t.Fatal("the server still answers after Stop")
	}
	s.Stop() // a second Stop does nothing
}

const missingHelperEnv = "MEMCACHEDTEST_MISSING_HELPER"

// TestMissingHelper is run in a child process by TestMissing, with memcached nowhere to be
// found; on its own it does nothing.
func TestMissingHelper(t *testing.T) {
	if os.Getenv(missingHelperEnv) != "1" {
		t.Skip("run by TestMissing")
	}
	fallbackPath = ""
	Start(t)
	t.Log("Start returned")
}

// TestMissing: without memcached a test skips, unless STRATA_REQUIRE_MEMCACHED=1 or
// STRATA_REQUIRE_E2E=1, where it fails with a message saying why.
func TestMissing(t *testing.T) {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, RequireEnv+"=") && !strings.HasPrefix(kv, RequireE2EEnv+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, "PATH="+t.TempDir(), missingHelperEnv+"=1")
	for _, tc := range []struct {
		env  string
		want string
	}{
		{"", "--- SKIP: TestMissingHelper"},
		{RequireEnv + "=1", "--- FAIL: TestMissingHelper"},
		{RequireE2EEnv + "=1", "--- FAIL: TestMissingHelper"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingHelper$", "-test.v") //nolint:gosec // the test binary itself
		cmd.Env = append(append([]string(nil), env...), tc.env)
		out, err := cmd.CombinedOutput()
		if !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), "memcached not found") {
			t.Errorf("with %q: want %q and a message; got (%v):\n%s", tc.env, tc.want, err, out)
		}
		if strings.Contains(string(out), "Start returned") {
			t.Errorf("with %q: Start returned without memcached:\n%s", tc.env, out)
		}
	}
}
