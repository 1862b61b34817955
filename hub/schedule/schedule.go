// Package schedule runs jobs on cron schedules (robfig/cron/v3) in the hub's
// time zone, Asia/Shanghai by default. A job whose previous run is still going
// is skipped, never run twice at once; a panicking run is recovered and
// logged; cron's own logging goes to zerolog, never stdout.
package schedule

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"
)

// RunFunc runs one job; ctx is cancelled when the scheduler stops.
type RunFunc func(ctx context.Context, tenant, job string)

// Scheduler runs jobs on their schedules.
type Scheduler struct {
	cron   *cron.Cron
	ctx    context.Context
	cancel context.CancelFunc
}

// Entry is one scheduled job.
type Entry struct {
	Tenant, Job, Schedule string
}

// New builds a scheduler for entries in loc. It fails on the first bad cron
// expression, naming the job.
func New(entries []Entry, loc *time.Location, log zerolog.Logger, run RunFunc) (*Scheduler, error) {
	cl := cronLogger{log: log}
	c := cron.New(
		cron.WithLocation(loc),
		cron.WithLogger(cl),
		cron.WithChain(cron.Recover(cl), cron.SkipIfStillRunning(cl)),
	)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{cron: c, ctx: ctx, cancel: cancel}
	for _, e := range entries {
		e := e
		if _, err := c.AddFunc(e.Schedule, func() { run(s.ctx, e.Tenant, e.Job) }); err != nil {
			cancel()
			return nil, fmt.Errorf("job %s/%s: schedule %q: %w", e.Tenant, e.Job, e.Schedule, err)
		}
	}
	return s, nil
}

// Start starts the scheduler in the background.
func (s *Scheduler) Start() { s.cron.Start() }

// Next returns when each job runs next, in schedule order.
func (s *Scheduler) Next() []time.Time {
	var out []time.Time
	for _, e := range s.cron.Entries() {
		out = append(out, e.Next)
	}
	return out
}

// NextRun is when a job on schedule runs next after t, in loc, as the
// scheduler would run it. An @every schedule counts from when the
// scheduler started (started): its runs fall on the whole second after
// started plus each multiple of the interval. NextRun is zero for one when
// started is zero (no scheduler runs).
func NextRun(schedule string, loc *time.Location, t, started time.Time) (time.Time, error) {
	sched, err := cron.ParseStandard(schedule)
	if err != nil {
		return time.Time{}, fmt.Errorf("schedule %q: %w", schedule, err)
	}
	every, ok := sched.(cron.ConstantDelaySchedule)
	if !ok {
		return sched.Next(t.In(loc)), nil
	}
	if started.IsZero() {
		return time.Time{}, nil
	}
	// cron runs it at Next(started), then at Next of each run: the
	// interval after the run's whole second.
	next := every.Next(started.In(loc))
	if next.After(t) {
		return next, nil
	}
	return next.Add((t.Sub(next)/every.Delay + 1) * every.Delay), nil
}

// Stop stops scheduling, cancels running jobs and waits for them (or ctx).
func (s *Scheduler) Stop(ctx context.Context) {
	done := s.cron.Stop()
	s.cancel()
	select {
	case <-done.Done():
	case <-ctx.Done():
	}
}

// cronLogger adapts zerolog to cron.Logger.
type cronLogger struct{ log zerolog.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	l.log.Debug().Fields(kv).Msg("cron: " + msg)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error().Err(err).Fields(kv).Msg("cron: " + msg)
}
