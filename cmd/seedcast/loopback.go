package main

import (
	"net/netip"
	"strings"
)

// isLoopbackHost reports whether host, a URL's host name, is this machine
// alone: localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
