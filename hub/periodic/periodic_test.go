package periodic_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/channelhub/channelhub/hub/periodic"
)

func TestRunCallsUntilStopped(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	stop := periodic.Run(t.Context(), time.Millisecond, func(context.Context) { calls.Add(1) })
	for deadline := time.Now().Add(5 * time.Second); calls.Load() < 3; {
		if time.Now().After(deadline) {
			t.Fatal("f was not called three times")
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	n := calls.Load()
	time.Sleep(20 * time.Millisecond)
	if calls.Load() != n {
		t.Fatal("f was called after stop returned")
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	var got context.Context
	stop := periodic.Run(ctx, time.Hour, func(c context.Context) { got = c })
	cancel()
	stop() // returns: the goroutine ended with ctx
	if got != nil {
		t.Fatal("f ran before its first tick")
	}
}
