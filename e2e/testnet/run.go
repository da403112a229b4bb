package testnet

import (
	"context"
	"sync"
	"testing"
)

// Run runs a long-lived part's Run method in a goroutine until stop is
// called or the test ends; stop cancels run's context, waits for it to
// return and returns its error. At the end of the test an error from run
// fails it.
func Run(tb testing.TB, run func(context.Context) error) (stop func() error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	tb.Cleanup(func() {
		if err := stop(); err != nil {
			tb.Errorf("Run: %v", err)
		}
	})
	return stop
}
