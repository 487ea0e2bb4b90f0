//go:build !linux

package redistest

import "testing"

func becomeSubreaper(t *testing.T) { t.Skip("parent-death signals are Linux only") }
