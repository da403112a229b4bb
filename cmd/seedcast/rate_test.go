package main

import "testing"

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "", want: 0},
		{in: "0", want: 0},
		{in: "125000", want: 125000},
		{in: "4Mbit/s", want: 500_000},
		{in: "20Mbps", want: 2_500_000},
		{in: "500KB/s", want: 500_000},
		{in: "500kB/s", want: 500_000},
		{in: "1MiB/s", want: 1 << 20},
		{in: "1.5MB", want: 1_500_000},
		{in: " 2 Mbit/s ", want: 250_000},
		{in: "fast", bad: true},
		{in: "4Mb/s", bad: true}, // bits or bytes? say which
		{in: "-1MB/s", bad: true},
		{in: "1e9GB/s", bad: true},
		{in: "0.1bit/s", bad: true},
		{in: "Mbit/s", bad: true},
	} {
		got, err := parseRate(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("parseRate(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseRate(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}
