# Secure Personal Profile. `make run` starts the app, `make test` runs the
# whole test suite; both install missing build dependencies first.
export LANG ?= en_US.UTF-8
GO ?= go
ARGS ?=

.PHONY: run serve build test bench bench-load stress screenshots compat deps test-deps

run: deps
	$(GO) run . $(ARGS)

serve: deps
	$(GO) run . serve $(ARGS)

build: deps
	$(GO) build -o spp .

# -tags ci selects Fyne's headless driver, so GUI tests need no display.
test: test-deps
	$(GO) vet -tags ci ./...
	$(GO) test -tags ci -timeout 45m ./...

bench: test-deps
	$(GO) test -tags ci -run '^$$' -bench . -benchmem -timeout 60m ./...

# Throughput as a client sees it: wrk against `serve` and a bare net/http
# server in one run (DURATION=10s per endpoint; ONLY=name to pick one).
bench-load: deps
	.ci/bench-load

# Reliability runs against `serve` (loopback, fresh data directories, each
# bounded): SIGKILL during write storms, a soak with RSS sampling, malformed
# requests for every operation of openapi.json. ONLY=crash,soak,fuzz
# CYCLES=5 SOAK=60s RATE=150 PER_ROUTE=1000 (.ci/stress, testdata/stress).
stress: deps
	.ci/stress

# The original service's own pytest suite against a fresh `serve` on
# 127.0.0.1:8000 (not part of `make test`; the suite stays outside the project):
#   make compat SUITE=../shared/compat/original-api-test.py
SUITE ?=
compat: deps
	@GO="$(GO)" .ci/compat "$(SUITE)"

# Screenshots of every main screen, from the real app under Xvfb.
screenshots:
	.ci/screenshots

deps:
	@.ci/deps build

test-deps:
	@.ci/deps test
