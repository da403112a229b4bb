//go:build !race

package signaling

const raceBuild = false
