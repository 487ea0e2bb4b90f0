module github.com/strata-cache/strata/appcache/msgpackcodec

go 1.26.0

require (
	github.com/strata-cache/strata v0.0.0-00010101000000-000000000000
	github.com/vmihailenco/msgpack/v5 v5.4.1
)

require (
	github.com/allegro/bigcache/v3 v3.1.0 // indirect
	github.com/klauspost/cpuid/v2 v2.4.0 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	github.com/zeebo/xxh3 v1.1.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace github.com/strata-cache/strata => ../..
