//go:build !linux

package testproc

import "syscall"

// sysProcAttr has no parent-death signal outside Linux: servers are stopped
// by tb.Cleanup only.
func sysProcAttr() *syscall.SysProcAttr { return nil }
