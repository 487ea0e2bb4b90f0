package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// RequireEnv names the environment variable that turns a missing varnishd, vmod_xkey or
// Chromium from a skip into a failure when set to "1" (.ci/run sets it).
const RequireEnv = "STRATA_REQUIRE_E2E"

// buildDir holds what TestMain's tests build (the demo binary); removed after the run.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "strata-e2e-build")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// missing skips the test, or fails it under STRATA_REQUIRE_E2E=1, naming what is missing
// and how to get it.
func missing(t testing.TB, what, install string) {
	t.Helper()
	msg := fmt.Sprintf("e2e: %s not found; install it (%s), or run ./scripts/test, which does", what, install)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s [%s=1: required, not skipped]", msg, RequireEnv)
	}
	t.Skipf("%s [skipped; %s=1 makes this a failure]", msg, RequireEnv)
}

// findBinary returns the first of names found on PATH or in dirs; ok is false when none is.
func findBinary(names []string, dirs ...string) (string, bool) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, true
		}
		for _, d := range dirs {
			p := filepath.Join(d, n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p, true
			}
		}
	}
	return "", false
}

// repoRoot is the repository's root: this module lives in its e2e directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "examples", "cdn", "default.vcl")); err != nil {
		t.Fatalf("e2e: repository root not found from %s: %v", root, err)
	}
	return root
}

var (
	demoOnce sync.Once
	demoBin  string
	demoErr  error
)

// demoBinary builds the demo (examples/chi, a tool of this module) once per test binary.
func demoBinary(t testing.TB) string {
	t.Helper()
	demoOnce.Do(func() {
		goBin, ok := findBinary([]string{"go"}, filepath.Join(goroot(), "bin"))
		if !ok {
			demoErr = fmt.Errorf("the go command is not on PATH")
			return
		}
		out := filepath.Join(buildDir, "demo")
		cmd := exec.Command(goBin, "build", "-o", out, "github.com/strata-cache/strata/examples/chi") //nolint:gosec // G204: the go command found above
		if b, err := cmd.CombinedOutput(); err != nil {
			demoErr = fmt.Errorf("go build examples/chi: %v\n%s", err, b)
			return
		}
		demoBin = out
	})
	if demoErr != nil {
		t.Fatalf("e2e: %v", demoErr)
	}
	return demoBin
}

// goroot is where a go command may be found when it is not on PATH: $GOROOT, else the
// default install location.
func goroot() string {
	if r := os.Getenv("GOROOT"); r != "" {
		return r
	}
	return "/usr/local/go"
}
