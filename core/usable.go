package core

// usable tells which values read from L2 the cache can use: a value of another entry-format
// version, a cut, altered or garbage one under a cache key is read as a miss, for the lookup
// and for the L2 hit counter (strata_l2_hits_total; see Stats).
func usable(b []byte) bool {
	switch kindOf(b) {
	case kindEntry:
		var e entry
		var fa [16]field // on the stack: checking an entry costs no allocation for most entries
		_, err := decodeEntryTo(b, &e, fa[:0])
		return err == nil && intact(b)
	case kindVary:
		var v varyRecord
		return decodeVary(b, &v) == nil
	case kindIgnore:
		return true
	}
	return false
}
