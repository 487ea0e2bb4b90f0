module github.com/strata-cache/strata/store/memcached

go 1.26.0

require (
	github.com/bradfitz/gomemcache v0.0.0-20260422231931-4d751bb6e37c
	github.com/strata-cache/strata v0.0.0-00010101000000-000000000000
)

require (
	github.com/allegro/bigcache/v3 v3.1.0 // indirect
	github.com/klauspost/cpuid/v2 v2.4.0 // indirect
	github.com/zeebo/xxh3 v1.1.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/strata-cache/strata => ../..
