package bench

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCPUList(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []int
		err  bool
	}{
		{in: "", want: nil},
		{in: "0", want: []int{0}},
		{in: "1-3", want: []int{1, 2, 3}},
		{in: "0,2", want: []int{0, 2}},
		{in: "0,0-1", want: []int{0, 1}},
		{in: "a", err: true},
		{in: "3-1", err: true},
		{in: "1-", err: true},
	} {
		got, err := cpuList(tt.in)
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("cpuList(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	if got, err := otherCPUs("0", 2); got != "1" || err != nil {
		t.Errorf(`otherCPUs("0", 2) = %q, %v; want "1"`, got, err)
	}
	if got, err := otherCPUs("1", 4); got != "0,2,3" || err != nil {
		t.Errorf(`otherCPUs("1", 4) = %q, %v; want "0,2,3"`, got, err)
	}
	if _, err := otherCPUs("0", 1); err == nil {
		t.Error(`otherCPUs("0", 1): want an error, no CPU is left`)
	}
}

func TestThousands(t *testing.T) {
	for x, want := range map[float64]string{0: "0", 999.4: "999", 1000: "1 000", 24310.6: "24 311", 1234567: "1 234 567", -1500: "-1 500"} {
		if got := thousands(x); got != want {
			t.Errorf("thousands(%g) = %q, want %q", x, got, want)
		}
	}
}

func TestJudgeStep(t *testing.T) {
	for _, tt := range []struct {
		name string
		res  loadResult
		pass bool
		why  string
	}{
		{name: "pass", res: loadResult{Rate: 1000, Seconds: 3, Replies: 2990, ReplyP99: 12}, pass: true},
		{name: "slow", res: loadResult{Rate: 1000, Seconds: 3, Replies: 3000, ReplyP99: 50}, why: "p99 50.0 ms ≥ 50.0 ms"},
		{name: "short", res: loadResult{Rate: 1000, Seconds: 3, Replies: 2800, ReplyP99: 10}, why: "replies to 93 % of the announces asked for"},
		{name: "errors", res: loadResult{Rate: 1000, Seconds: 3, Replies: 3000, ReplyP99: 10, Errors: map[string]errCount{"read": {N: 2}}}, why: "2 errors"},
	} {
		st := loadStep{loadResult: tt.res}
		st.judge(50 * time.Millisecond)
		if st.Pass != tt.pass || st.Why != tt.why {
			t.Errorf("%s: pass %v (%s), want %v (%s)", tt.name, st.Pass, st.Why, tt.pass, tt.why)
		}
	}
}

// TestTrackerReport prints a table of made-up figures and checks its
// verdicts: a ratio that passes, one bounded by the generator, an RSS
// over its target.
func TestTrackerReport(t *testing.T) {
	step := func(rate, replied float64, pass bool, busy float64) loadStep {
		st := loadStep{loadResult: loadResult{Rate: rate, Seconds: 3, Replies: int64(replied * 3), ReplyP50: 1, ReplyP99: 20}, Pass: pass, TrackerBusy: busy}
		if !pass {
			st.Why, st.ReplyP99 = "p99 80 ms ≥ 50 ms", 80
		}
		return st
	}
	row := func(key string, fixed loadStep, steps []loadStep, rssIdle int64) *trackerRow {
		return &trackerRow{Key: key, Title: key, Open: &loadResult{Open: 10_000, Replies: 10_000, Seconds: 4},
			RSSStart: 10 << 20, RSSIdle: 10<<20 + rssIdle*10_000, RSSEnd: 100 << 20, Fixed: &fixed, Steps: steps}
	}
	ref := row("r", step(1000, 1000, true, 0.3), []loadStep{step(1500, 1500, true, 0.6), step(2250, 2100, false, 0.99), step(1837, 1837, true, 0.85)}, 20_000)
	for _, tt := range []struct {
		name string
		sc   *trackerRow
		want []string
	}{
		{
			name: "tracker's CPU full, short of 10 ×",
			sc:   row("s", step(1000, 1000, true, 0.1), []loadStep{step(16000, 16000, true, 0.8), step(24000, 20000, false, 0.95)}, 6_000),
			want: []string{"8.7 × (16 000 ÷ 1 837)", "MISS", "1.3 short", "5.9 KB", "PASS", "2.1 KB to spare", "3.33 ×"},
		},
		{
			name: "tracker's CPU full, over 10 ×",
			sc:   row("s", step(1000, 1000, true, 0.1), []loadStep{step(20000, 20000, true, 0.8), step(30000, 20000, false, 0.95)}, 6_000),
			want: []string{"10.9 × (20 000 ÷ 1 837)", "PASS", "0.9 to spare"},
		},
		{
			name: "generator-bound, under 10 ×",
			sc:   row("s", step(1000, 1000, true, 0.1), []loadStep{step(9000, 9000, true, 0.5), {loadResult: loadResult{Rate: 13500, Seconds: 3, Replies: 30000, ReplyP99: 90}, Why: "p99", LoadgenBusy: 0.99}}, 9_000),
			want: []string{"≥ 4.9 ×", "n/a", "seedcast not saturated (above 9 000/s: generator's CPU full)", "8.8 KB", "MISS", "0.8 KB over"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			trackerReport{Setup: trackerSetup{Sockets: 10_000}, Rows: []*trackerRow{tt.sc, ref}}.Print(&b)
			out := b.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("the table lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
