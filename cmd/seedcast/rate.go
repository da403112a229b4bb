package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// rateUnits are the units --upload-rate takes, in bytes per second: bytes
// in SI and IEC multiples, and bits, as uplinks are sold.
var rateUnits = map[string]float64{
	"": 1, "B": 1,
	"kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
	"bit": 1.0 / 8, "kbit": 1e3 / 8, "Kbit": 1e3 / 8, "Mbit": 1e6 / 8, "Gbit": 1e9 / 8,
	"bps": 1.0 / 8, "kbps": 1e3 / 8, "Kbps": 1e3 / 8, "Mbps": 1e6 / 8, "Gbps": 1e9 / 8,
}

// parseRate reads a rate such as 4Mbit/s, 500KB/s or 1MiB/s into bytes
// per second; "" and "0" mean no cap (0).
func parseRate(s string) (int64, error) {
	bad := fmt.Errorf("%q: want a rate such as 4Mbit/s, 20Mbps, 500KB/s or 1MiB/s (0 for no cap)", s)
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, nil
	}
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	if !strings.HasSuffix(unit, "ps") {
		unit = strings.TrimSuffix(unit, "/s")
	}
	mult, ok := rateUnits[unit]
	if !ok || num == "" {
		return 0, bad
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || math.IsInf(v*mult, 0) || v*mult > 1<<50 {
		return 0, bad
	}
	n := int64(math.Round(v * mult))
	if v > 0 && n < 1 {
		return 0, bad
	}
	return n, nil
}
