//go:build linux

package memcachedtest

import "syscall"

// sysProcAttr makes the kernel kill the server (SIGKILL) when the thread that started it
// exits: the backstop for a test binary that dies without running its cleanups.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
