package main

import "syscall"

// sysProcAttr asks the kernel to SIGKILL a child when the thread that started it dies, so a
// tool killed without running its cleanup (SIGKILL, a crash) leaves nothing behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
