package testnet

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestProcess checks the runner on sh: output capture, Poll giving up as
// soon as the process exits, and Stop of a program that ignores SIGINT.
func TestProcess(t *testing.T) {
	sh := RequireTool(t, "sh")

	t.Run("output", func(t *testing.T) {
		p := Start(t, "echo", exec.Command(sh, "-c", "echo out; echo err >&2"))
		if err := p.Wait(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		if got := p.Stdout().String(); got != "out\n" {
			t.Errorf("Stdout = %q, want %q", got, "out\n")
		}
		if got := p.Output().String(); !strings.Contains(got, "out\n") || !strings.Contains(got, "err\n") {
			t.Errorf("Output = %q, want both lines", got)
		}
	})

	t.Run("poll gives up on exit", func(t *testing.T) {
		p := Start(t, "exit3", exec.Command(sh, "-c", "exit 3"))
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		start := time.Now()
		err := Poll(ctx, p, func(context.Context) error { return errors.New("never") })
		if err == nil || !strings.Contains(err.Error(), "exit3 exited: exit status 3") {
			t.Errorf("Poll = %v, want an error saying exit3 exited with status 3", err)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("Poll gave up after %v, want soon after the exit", d)
		}
	})

	t.Run("stop", func(t *testing.T) {
		// An ignored signal stays ignored across exec.
		p := Start(t, "sleep", exec.Command(sh, "-c", "trap '' INT; echo ready; exec sleep 60"))
		err := WaitFor(10*time.Second, func() error {
			if p.Stdout().String() != "ready\n" {
				return errors.New("the trap is not set yet")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = p.Stop(200 * time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "killed it") {
			t.Errorf("Stop = %v, want an error saying it was killed", err)
		}
		if !p.Exited() {
			t.Error("the process runs after Stop")
		}
	})
}

// TestOverwriteCR checks that the log tail shows a redrawn line as a
// terminal does.
func TestOverwriteCR(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain\n", "plain\n"},
		{"10%\r20%\r30%   \ndone\n", "30%\ndone\n"},
		{"a\r\nb", "a\nb"},
	} {
		if got := string(overwriteCR([]byte(tt.in))); got != tt.want {
			t.Errorf("overwriteCR(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestShellQuote checks that quoted words read back as the arguments.
func TestShellQuote(t *testing.T) {
	sh := RequireTool(t, "sh")
	args := []string{"plain", "", "two words", "it's", `$HOME "x"`, "a=b,c"}
	out, err := exec.Command(sh, "-c", `for a in `+ShellQuote(args)+`; do printf '[%s]' "$a"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "[plain][][two words][it's][$HOME \"x\"][a=b,c]"; string(out) != want {
		t.Errorf("sh read back %s, want %s", out, want)
	}
}
