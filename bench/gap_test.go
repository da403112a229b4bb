package bench

import (
	"math"
	"testing"
)

func TestLongestGap(t *testing.T) {
	for _, tt := range []struct {
		name    string
		samples [][2]float64
		want    gap
		toEnd   gap // gapToEnd of the same samples
	}{
		{
			name:    "progress at every sample",
			samples: [][2]float64{{0, 0}, {120, 0}, {250, 10}, {500, 20}, {750, 30}, {900, 40}},
		},
		{
			name:    "timer jitter is no gap",
			samples: [][2]float64{{0, 0}, {250, 10}, {560, 20}, {750, 30}},
		},
		{
			name:    "before the first byte is TTFB, not a gap",
			samples: [][2]float64{{0, 0}, {250, 0}, {500, 0}, {750, 0}, {1000, 5}, {1250, 10}},
		},
		{
			name:    "three samples without progress",
			samples: [][2]float64{{0, 0}, {250, 10}, {500, 20}, {750, 20}, {1000, 20}, {1250, 20}, {1500, 30}},
			want:    gap{Seconds: 0.75, At: 0.5, Bytes: 20},
			toEnd:   gap{Seconds: 0.75, At: 0.5, Bytes: 20},
		},
		{
			name:    "stuck to the end",
			samples: [][2]float64{{0, 0}, {250, 10}, {500, 20}, {750, 20}, {1000, 20}, {1250, 20}, {1500, 20}, {1750, 20}},
			toEnd:   gap{Seconds: 1.25, At: 0.5, Bytes: 20, ToEnd: true},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := longestGap(tt.samples); !gapNear(got, tt.want) {
				t.Errorf("longestGap = %+v, want %+v", got, tt.want)
			}
			if got := (transfer{Samples: tt.samples}).gapToEnd(); !gapNear(got, tt.toEnd) {
				t.Errorf("gapToEnd = %+v, want %+v", got, tt.toEnd)
			}
		})
	}
}

func gapNear(a, b gap) bool {
	return math.Abs(a.Seconds-b.Seconds) < 1e-9 && math.Abs(a.At-b.At) < 1e-9 && a.Bytes == b.Bytes && a.ToEnd == b.ToEnd
}

func TestMedianOf(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{17.1, 18.3, 16.7}, 17.1},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := medianOf(tt.in); got != tt.want {
			t.Errorf("medianOf(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
