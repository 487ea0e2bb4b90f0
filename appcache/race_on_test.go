//go:build race

package appcache

// raceEnabled: the race detector drops pooled objects at random, so allocation counts vary.
const raceEnabled = true
