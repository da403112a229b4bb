//go:build race

package signaling

// raceBuild: the race detector's runtime gives goroutines larger stacks.
const raceBuild = true
