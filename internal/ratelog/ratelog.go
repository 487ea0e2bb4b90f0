// Package ratelog rate-limits log lines: Strata's one limiter, used by core and the stores so
// that a failing tier costs the operator's log one line per second per kind of failure, with
// the count of the lines it held back.
package ratelog

import (
	"sync/atomic"
	"time"
)

// Slot limits one kind of log line. The zero value is ready; it is safe for concurrent use
// and takes no lock.
type Slot struct {
	next    atomic.Int64 // unix nanos before which lines are held back
	dropped atomic.Int64 // lines held back since the last one let through
}

// Allow reports whether a line may be logged at now, at most one per every; when it may, it
// also returns how many lines were held back since the previous one (to log with it).
func (s *Slot) Allow(now time.Time, every time.Duration) (ok bool, suppressed int64) {
	n := now.UnixNano()
	next := s.next.Load()
	if n < next || !s.next.CompareAndSwap(next, n+int64(every)) {
		s.dropped.Add(1)
		return false, 0
	}
	return true, s.dropped.Swap(0)
}
