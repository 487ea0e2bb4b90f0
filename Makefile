# Strata's everyday commands. The test command is scripts/test (README); the load benchmark is
# internal/loadbench (docs/performance.md is its output).

.PHONY: test bench bench-load

# go vet, golangci-lint (when installed) and go test -race ./... (installs redis-server where
# it is missing).
test:
	./scripts/test

# Micro benchmarks of the hit path, each next to its bare baseline.
bench:
	go test -run '^$$' -bench . -benchmem ./core ./headers ./etag ./store

# Load benchmark: bare net/http and chi vs Strata (L1, L1+L2, L2 only) under wrk, stampede and
# memory runs; writes docs/performance.md. Takes about 15 minutes; flags: go run ./internal/loadbench -h
bench-load:
	go run ./internal/loadbench -write docs/performance.md $(ARGS)
