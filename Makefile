# Strata's everyday commands. The test command is scripts/test (README); the load benchmark is
# internal/loadbench (docs/performance.md is its output); the public HTTP caching test suite is
# scripts/conformance-suite (docs/conformance.md is its output).

.PHONY: test bench bench-load conformance-suite

# go vet, golangci-lint (when installed) and go test -race ./... (installs redis-server where
# it is missing).
test:
	./scripts/test

# Micro benchmarks of the hit path, each next to its bare baseline.
bench:
	go test -run '^$$' -bench . -benchmem ./core ./headers ./etag ./store ./appcache ./appcache/msgpackcodec

# Load benchmark: bare net/http and chi vs Strata (L1, L1+L2, L2 only) under wrk, stampede and
# memory runs; writes docs/performance.md. Takes about 15 minutes; flags: go run ./internal/loadbench -h
bench-load:
	go run ./internal/loadbench -write docs/performance.md $(ARGS)

# The public HTTP caching test suite (cache-tests.fyi) through examples/proxy, L1 and with Redis,
# 3 runs each; writes docs/conformance.md. Needs the suite's checkout beside the repository
# (CACHE_TESTS_DIR, default ../cache-tests); skips without it. Not run by CI. About 7 minutes.
conformance-suite:
	./scripts/conformance-suite $(ARGS)
