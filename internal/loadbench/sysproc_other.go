//go:build !linux

package main

import "syscall"

// sysProcAttr has no parent-death signal outside Linux: children are stopped by killAll.
func sysProcAttr() *syscall.SysProcAttr { return nil }
