package redistest

import (
	"syscall"
	"testing"
)

// becomeSubreaper makes this process adopt orphaned descendants, so that a
// server killed after its parent (the helper binary) died can be reaped here
// instead of staying a zombie under an init that does not reap.
func becomeSubreaper(t *testing.T) {
	const prSetChildSubreaper = 36
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		t.Logf("PR_SET_CHILD_SUBREAPER: %v", errno)
	}
}
