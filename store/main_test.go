package store_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives its tests (an L1 a test did not close:
// bigcache's cleaner ends with Close). goleak retries for a while before it reports.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
