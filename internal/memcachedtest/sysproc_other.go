//go:build !linux

package memcachedtest

import "syscall"

// sysProcAttr: only Linux has a parent-death signal; elsewhere tb.Cleanup alone stops the
// server.
func sysProcAttr() *syscall.SysProcAttr { return nil }
