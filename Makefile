# seedcast: `make demo` runs the node on its built-in pilot; `make test` runs
# every test (unit, protocol, fuzz, end-to-end with Chromium and native
# clients); `make bench` prints the benchmark tables.

GO        ?= go
BIN       := bin/seedcast
# Fuzz budgets count executions, not seconds: with a duration, Go 1.26's
# fuzz coordinator can fail a target with "context deadline exceeded" as
# the time runs out (golang/go#75804, fixed in Go 1.27).
FUZZTIME  ?= 500000x
# Fuzz targets whose inputs reach the database run a tenth as many.
STORE_FUZZTIME ?= 50000x
# End-to-end tests live behind this tag; `make test` always sets it.
TAGS      := e2e
# The tables `make bench` prints; BENCH=Tracker prints one.
BENCH     ?= Transports|Playback|Offload|Tracker|Bridge

.PHONY: all build bin web demo test vet lint unit fuzz bench clean

all: build

# Front-end packages come from npm (pinned in web/package-lock.json).
# WebTorrent's dependency tree has a preinstall that insists on pnpm, so
# scripts stay off (web/.npmrc says so too).
web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# The pages' TypeScript and CSS, type-checked and bundled into web/dist with
# WebTorrent's prebuilt dist and service worker beside them; web embeds it.
WEB_SRC := $(wildcard web/src/*) web/build.mjs web/tsconfig.json

web/dist/watch.js: web/node_modules/.installed $(WEB_SRC)
	cd web && node_modules/.bin/tsc --noEmit -p . && node build.mjs

web: web/dist/watch.js

# The binary, embedding web/dist as it stands. The Dockerfile runs `make web`
# and `make bin` in two stages, and `make test` runs `make build`: the
# image and CI build seedcast through the same steps.
bin:
	$(GO) build -o $(BIN) ./cmd/seedcast

build: web
	$(MAKE) --no-print-directory bin

demo: build
	./$(BIN) serve

vet:
	$(GO) vet ./...
	$(GO) vet -tags $(TAGS) ./...

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) tool staticcheck ./...
	$(GO) tool staticcheck -tags $(TAGS) ./...

# The end-to-end tests run alone, after the others: several of them hold
# a page's timings or a tracker's latency to a bound, which two packages'
# tests at once on two cores would blur. Their own process runs without
# the race detector, which made the clients and attackers they drive cost
# several times the CPU and starve the node they time: the abuse test's
# p99 was 35-158 ms over 9 runs with it (4 over its 100 ms bound), 7-43 ms
# over 7 without. The seedcast most of them start is the race build, and
# e2e/testnet's own tests run with the detector on the line above. They
# run every time (-count=1): they test the binary they build and the
# browsers and clients installed, none of which Go's test cache sees.
unit: web
	$(GO) test -race -tags $(TAGS) -timeout 25m $$($(GO) list ./... | grep -v '/e2e$$')
	$(GO) test -tags $(TAGS) -count=1 -timeout 25m ./e2e/
	# Memory figures without the race detector, whose runtime doubles stacks.
	$(GO) test -count=1 -run '^TestIdleSocketMemory$$' ./signaling/

# Each fuzz target of a parser of network input runs FUZZTIME inputs.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseRequest$$' -fuzztime $(FUZZTIME) ./signaling/
	$(GO) test -run '^$$' -fuzz '^FuzzParseHTTPAnnounce$$' -fuzztime $(FUZZTIME) ./signaling/
	$(GO) test -run '^$$' -fuzz '^FuzzMDNSHandle$$' -fuzztime $(FUZZTIME) ./webrtc/
	$(GO) test -run '^$$' -fuzz '^FuzzMP4Duration$$' -fuzztime $(FUZZTIME) ./player/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./infohash/
	$(GO) test -run '^$$' -fuzz '^FuzzParseDeliveryReport$$' -fuzztime $(FUZZTIME) ./player/
	$(GO) test -run '^$$' -fuzz '^FuzzWireScanner$$' -fuzztime $(FUZZTIME) ./swarm/
	$(GO) test -run '^$$' -fuzz '^FuzzParsePeerHints$$' -fuzztime $(FUZZTIME) ./swarm/
	$(GO) test -run '^$$' -fuzz '^FuzzRangeOK$$' -fuzztime $(FUZZTIME) ./player/
	$(GO) test -run '^$$' -fuzz '^FuzzRelayMessage$$' -fuzztime $(FUZZTIME) ./signaling/
	$(GO) test -run '^$$' -fuzz '^FuzzWireRequest$$' -fuzztime $(FUZZTIME) ./signaling/
	$(GO) test -run '^$$' -fuzz '^FuzzCheckMagnet$$' -fuzztime $(FUZZTIME) ./admin/
	$(GO) test -run '^$$' -fuzz '^FuzzParseTorrent$$' -fuzztime $(FUZZTIME) ./admin/
	$(GO) test -run '^$$' -fuzz '^FuzzScanMessage$$' -fuzztime $(FUZZTIME) ./bench/
	$(GO) test -run '^$$' -fuzz '^FuzzParseManifest$$' -fuzztime $(FUZZTIME) ./bundle/
	$(GO) test -run '^$$' -fuzz '^FuzzParseKeyFile$$' -fuzztime $(FUZZTIME) ./bundle/
	$(GO) test -run '^$$' -fuzz '^FuzzWebhook$$' -fuzztime $(STORE_FUZZTIME) ./gate/

test: lint build unit fuzz

bench: build
	$(GO) test -run '^$$' -bench '^Benchmark($(BENCH))$$' -benchtime 1x -timeout 40m ./bench -args -seedcast $(CURDIR)/$(BIN) $(BENCHFLAGS)

clean:
	rm -rf bin web/node_modules
	find web/dist -mindepth 1 ! -name README.md -delete
