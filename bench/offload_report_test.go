package bench

import "testing"

func TestMargin(t *testing.T) {
	for _, tt := range []struct {
		name      string
		v, target float64
		unit      string
		met       bool
		want      string
		wantFig   string
	}{
		{name: "room", v: 1.12, target: 1.3, met: true, want: "0.18 to spare", wantFig: "1.12"},
		{name: "over", v: 1.64, target: 1.2, met: false, want: "0.44 over", wantFig: "1.64"},
		{name: "just over shows three decimals", v: 1.3004, target: 1.3, met: false, want: "0.0004 over", wantFig: "1.3004"},
		{name: "just over by more", v: 1.3049, target: 1.3, met: false, want: "0.005 over", wantFig: "1.305"},
		{name: "exactly on the target", v: 1.3, target: 1.3, met: true, want: "0.00 to spare", wantFig: "1.30"},
		{name: "seconds", v: 0.09, target: 0.3, unit: " s", met: true, want: "0.21 s to spare", wantFig: "0.09"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := margin(tt.v, tt.target, tt.unit, tt.met); got != tt.want {
				t.Errorf("margin(%g, %g) = %q, want %q", tt.v, tt.target, got, tt.want)
			}
			if got := figure2(tt.v, tt.target); got != tt.wantFig {
				t.Errorf("figure2(%g, %g) = %q, want %q", tt.v, tt.target, got, tt.wantFig)
			}
		})
	}
}

func TestTargetUpload(t *testing.T) {
	for _, tt := range []struct {
		viewers int
		want    float64
	}{
		{1, 1.3}, {4, 1.3}, {5, 1.6}, {8, 1.6}, {9, 0},
	} {
		if got := targetUpload(tt.viewers); got != tt.want {
			t.Errorf("targetUpload(%d) = %g, want %g", tt.viewers, got, tt.want)
		}
	}
}
