//go:build !linux

package e2e

import "syscall"

// sysProcAttr has no parent-death signal outside Linux: servers are stopped by t.Cleanup only.
func sysProcAttr() *syscall.SysProcAttr { return nil }
