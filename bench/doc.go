// Package bench holds the benchmarks that `make bench` runs, each in one
// run and on the same links of a private test network (e2e/testnet), each
// printing its own table: Transports, how fast bytes reach WebTorrent in
// headless Chromium from seedcast over WebRTC, next to the ceiling of a raw
// pion data channel, a browser peer and an HTTP web seed; Playback, how
// soon a viewer sees the first frame and a seek plays; Offload, how much
// of a film the node sends while several viewers watch it together;
// Tracker, how many announces seedcast's WebSocket tracker answers in time
// and what an idle socket costs it, next to npm bittorrent-tracker, under
// a load generator of simulated WebTorrent peers; and Bridge, how soon the
// watch page plays a film the node is still fetching from a native swarm
// (a libtorrent seeder at 3 × the film's bitrate), next to the same film
// complete at the node.
// BENCHMARKS.md explains the figures. The code is in the package's test
// files; make bench runs it, as root since it creates network namespaces,
// with
//
//	go test -run '^$' -bench '^Benchmark(Transports|Playback|Offload|Tracker|Bridge)$' -benchtime 1x ./bench
package bench
