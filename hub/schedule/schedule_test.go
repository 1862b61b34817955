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

func TestNextRun(t *testing.T) {
	t.Parallel()
	// 2026-12-02 11:08:31 UTC is 19:08:31 in Shanghai.
	now := time.Date(2026, 12, 2, 11, 8, 31, 0, time.UTC)
	// A scheduler started at 11:02:10.4 UTC runs @every 1m at 11:03:10,
	// 11:04:10…
	started := time.Date(2026, 12, 2, 11, 2, 10, 4e8, time.UTC)
	for _, tc := range []struct {
		schedule string
		started  time.Time
		want     string
	}{
		{"*/15 * * * *", time.Time{}, "2026-12-02T19:15:00+08:00"},
		{"*/15 * * * *", started, "2026-12-02T19:15:00+08:00"},
		{"0 2 * * *", time.Time{}, "2026-12-03T02:00:00+08:00"}, // 02:00 Shanghai, not UTC
		{"@daily", time.Time{}, "2026-12-03T00:00:00+08:00"},
		{"@every 1m", time.Time{}, ""}, // no scheduler runs: no next run
		{"@every 1m", started, "2026-12-02T19:09:10+08:00"},
		{"@every 1h", started, "2026-12-02T20:02:10+08:00"},
		{"@every 1m", now.Add(-10 * time.Second), "2026-12-02T19:09:21+08:00"}, // started 19:08:21: first run not yet
		{"@every 1m", now.Add(-60 * time.Second), "2026-12-02T19:09:31+08:00"}, // one due exactly now: the one after, as for cron schedules
	} {
		next, err := schedule.NextRun(tc.schedule, mapping.Shanghai, now, tc.started)
		if err != nil {
			t.Fatalf("%s: %v", tc.schedule, err)
		}
		got := ""
		if !next.IsZero() {
			got = next.Format(time.RFC3339)
		}
		if got != tc.want {
			t.Errorf("NextRun(%q) = %q, want %q", tc.schedule, got, tc.want)
		}
	}
	if _, err := schedule.NextRun("*/15 * *", mapping.Shanghai, now, time.Time{}); err == nil || !strings.Contains(err.Error(), "*/15 * *") {
		t.Fatalf("bad schedule: %v", err)
	}
}
