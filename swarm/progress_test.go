package swarm

import (
	"slices"
	"testing"
	"time"
)

func TestInfoWaitLogAt(t *testing.T) {
	var got []time.Duration
	for n := range 6 {
		got = append(got, infoWaitLogAt(n))
	}
	want := []time.Duration{5 * time.Second, 15 * time.Second, time.Minute, 6 * time.Minute, 11 * time.Minute, 16 * time.Minute}
	if !slices.Equal(got, want) {
		t.Errorf("infoWaitLogAt(0..5) = %v, want %v", got, want)
	}
}
