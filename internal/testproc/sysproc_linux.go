package testproc

import "syscall"

// sysProcAttr asks the kernel to SIGKILL the server when the thread that
// started it dies, so a test binary that exits without running its cleanups
// (a -timeout panic, SIGKILL) leaves no server behind. Go only ends
// threads of goroutines that exit while locked to them; startProc keeps the
// forking thread locked to a goroutine that lives as long as the server.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
