package core

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives its tests: a detached refresh, a
// lock extender, a subscriber or a server a test forgot to stop. goleak retries for a while
// before it reports, so goroutines that are ending as the tests end are not counted.
func TestMain(m *testing.M) {
	if addr := os.Getenv(holderEnv); addr != "" {
		runLockHolder(addr) // a child process of TestKilledLockHolder
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}
