//go:build !unix

package redisstore_test

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
