// Package bench holds the benchmark that `make bench` runs: it measures, in
// one run and on the same link of a private test network (e2e/testnet), how
// fast bytes reach WebTorrent in headless Chromium from seedcast over
// WebRTC, next to the ceiling of a raw pion data channel, a browser peer
// and an HTTP web seed, and prints one table. BENCHMARKS.md explains the
// figures. The code is in the package's test files; make bench runs it,
// as root since it creates network namespaces, with
//
//	go test -run '^$' -bench '^BenchmarkTransports$' -benchtime 1x ./bench
package bench
