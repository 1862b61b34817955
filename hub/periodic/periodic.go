// Package periodic runs a function on a ticker in the background.
package periodic

import (
	"context"
	"time"
)

// Run calls f every interval on its own goroutine until the returned stop is
// called or ctx ends; stop waits for a call in progress to return. f gets a
// context that stop cancels.
func Run(ctx context.Context, every time.Duration, f func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f(ctx)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
