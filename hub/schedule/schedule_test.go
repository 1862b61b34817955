package schedule_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/hub/schedule"
	"github.com/channelhub/channelhub/mapping"
)

func TestBadScheduleNamesTheJob(t *testing.T) {
	t.Parallel()
	_, err := schedule.New([]schedule.Entry{{Tenant: "t", Job: "j", Schedule: "*/15 * *"}}, mapping.Shanghai, zerolog.Nop(), nil)
	if err == nil || !strings.Contains(err.Error(), "t/j") {
		t.Fatalf("err = %v", err)
	}
}

func TestNoOverlappingRunsAndRecover(t *testing.T) {
	t.Parallel()
	var runs, concurrent, maxConcurrent atomic.Int32
	var mu sync.Mutex
	release := make(chan struct{})
	s, err := schedule.New([]schedule.Entry{{Tenant: "t", Job: "slow", Schedule: "@every 1s"}, {Tenant: "t", Job: "panics", Schedule: "@every 1s"}},
		mapping.Shanghai, zerolog.Nop(), func(ctx context.Context, tenant, job string) {
			if job == "panics" {
				panic("boom")
			}
			runs.Add(1)
			n := concurrent.Add(1)
			mu.Lock()
			if n > maxConcurrent.Load() {
				maxConcurrent.Store(n)
			}
			mu.Unlock()
			select {
			case <-release:
			case <-ctx.Done():
			}
			concurrent.Add(-1)
		})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	// Three ticks pass while the first run is held: none may overlap it.
	time.Sleep(3200 * time.Millisecond)
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Stop(ctx)
	if runs.Load() != 1 || maxConcurrent.Load() != 1 {
		t.Fatalf("runs = %d, max concurrent = %d; want 1 and 1", runs.Load(), maxConcurrent.Load())
	}
}
