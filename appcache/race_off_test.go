//go:build !race

package appcache

const raceEnabled = false
