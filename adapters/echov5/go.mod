module github.com/strata-cache/strata/adapters/echov5

go 1.26.0

require (
	github.com/labstack/echo/v5 v5.4.4
	github.com/strata-cache/strata v0.0.0-00010101000000-000000000000
)

require (
	github.com/allegro/bigcache/v3 v3.1.0 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/klauspost/cpuid/v2 v2.4.0 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	github.com/zeebo/xxh3 v1.1.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/time v0.15.0 // indirect
)

replace github.com/strata-cache/strata => ../..
