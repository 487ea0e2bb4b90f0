package e2e

import "syscall"

// sysProcAttr asks the kernel to SIGKILL a started server when the thread that started it
// dies, so a test binary that exits without running its cleanups (a -timeout panic, SIGKILL)
// leaves no varnishd or demo behind. start keeps that thread locked to a goroutine that
// lives as long as the server.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
