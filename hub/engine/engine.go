// Package engine runs sync jobs: it reads a job's streams from the
// connection's plugin and commits each batch with its checkpoint in one store
// transaction, retries what the platform's trouble interrupted from the last
// checkpoint, delivers the write-back outbox through the plugin's Write, and
// guards every connection with circuit breakers.
//
// Delivery is at least once with idempotent upserts: a crash of hub or plugin
// at any moment loses nothing, and the run after restart ends in the same
// store as an uninterrupted one.
package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/hub/breaker"
	"github.com/channelhub/channelhub/hub/config"
	"github.com/channelhub/channelhub/hub/host"
	"github.com/channelhub/channelhub/hub/periodic"
	"github.com/channelhub/channelhub/hub/plugin"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// Options configure an Engine. Zero values are the documented defaults.
type Options struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Sleep waits; default a timer honouring ctx. Tests inject it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Retries is how many throttled or unavailable failures in a row a stream
	// survives before the run fails; default 6. Progress resets the count.
	Retries int
	// Backoff is the first wait after an unavailable failure, doubling with
	// jitter up to MaxWait; default 1s.
	Backoff time.Duration
	// MaxWait caps any single wait, including a platform's throttle hint;
	// default 2 minutes.
	MaxWait time.Duration
}

// Engine runs jobs. It is safe for concurrent use; one job never runs twice
// at once.
type Engine struct {
	cfg      *config.Config
	store    store.Store
	plugins  *plugin.Manager
	breakers *breaker.Set
	tokens   *host.Tokens
	limiter  *host.Limiter
	log      zerolog.Logger
	opts     Options

	mu      sync.Mutex
	running map[string]bool
}

// New returns an Engine.
func New(cfg *config.Config, st store.Store, pm *plugin.Manager, log zerolog.Logger, opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Retries == 0 {
		opts.Retries = 6
	}
	if opts.Backoff == 0 {
		opts.Backoff = time.Second
	}
	if opts.MaxWait == 0 {
		opts.MaxWait = 2 * time.Minute
	}
	return &Engine{
		cfg: cfg, store: st, plugins: pm, log: log, opts: opts,
		breakers: breaker.NewSet(log),
		tokens:   &host.Tokens{Now: opts.Now},
		limiter:  &host.Limiter{Now: opts.Now, Sleep: opts.Sleep},
		running:  map[string]bool{},
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Breakers exposes the engine's breakers (for status output).
func (e *Engine) Breakers() *breaker.Set { return e.breakers }

// DeferredError says a run did not happen now, and why: an open breaker, or
// the job already running.
type DeferredError struct {
	Job    string
	Reason string
}

func (e *DeferredError) Error() string { return fmt.Sprintf("job %s deferred: %s", e.Job, e.Reason) }

// Progress is reported while a job runs.
type Progress struct {
	Tenant, Job, Stream string
	// Records read so far in this stream, this run.
	Records int64
	// Done and Total are the connector's own estimate (Total 0: unknown).
	Done, Total int64
	// Event is "batch", "progress", "retry", "done" or "write".
	Event string
	// Wait is set on retries: how long the engine waits.
	Wait time.Duration
	Err  error
}

// StreamResult counts one stream's run. Every record read is counted once:
// Records = Written + Unchanged + DeadLettered + Erased.
type StreamResult struct {
	Stream  string `json:"stream"`
	Records int64  `json:"records"`
	// Written records were new or changed; Unchanged were identical to what
	// was stored.
	Written   int64 `json:"written"`
	Unchanged int64 `json:"unchanged"`
	// DeadLettered records could not be applied (see `hub jobs dead-letters`).
	DeadLettered int64 `json:"dead_lettered"`
	// Erased records belong to erased people (a tombstone matched): they
	// were skipped.
	Erased     int64 `json:"erased"`
	NewMembers int64 `json:"new_members"`
	Merges     int64 `json:"merges"`
	// Receipts were filed with their outbox items; UnknownReceipts matched
	// none.
	Receipts        int64 `json:"receipts"`
	UnknownReceipts int64 `json:"unknown_receipts"`
	Retries         int   `json:"retries"`
}

// WriteResult counts delivered write-back actions.
type WriteResult struct {
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Refused   int `json:"refused"`
	Retrying  int `json:"retrying"`
}

// Result is how a run ended. Its JSON form (`hub sync --json`) has
// snake_case keys and the duration as duration_ms.
type Result struct {
	Tenant   string         `json:"tenant"`
	Job      string         `json:"job"`
	Streams  []StreamResult `json:"streams"`
	Writes   WriteResult    `json:"writes"`
	Duration time.Duration  `json:"-"`
}

// resultJSON is Result as JSON: the duration in milliseconds.
type resultJSON struct {
	plainResult
	DurationMS float64 `json:"duration_ms"`
}

// plainResult is Result without its JSON methods.
type plainResult Result

// MarshalJSON implements json.Marshaler.
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(resultJSON{plainResult(r), millis(r.Duration)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *Result) UnmarshalJSON(b []byte) error {
	var v resultJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Result(v.plainResult)
	r.Duration = time.Duration(v.DurationMS * float64(time.Millisecond))
	return nil
}

// millis is d in milliseconds, to the microsecond: the unit of every
// duration the hub logs or prints as JSON (keys ending in _ms).
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Records sums the records read by every stream.
func (r *Result) Records() int64 {
	var n int64
	for _, s := range r.Streams {
		n += s.Records
	}
	return n
}

// Request names a job to run.
type Request struct {
	Tenant, Job string
	// Mode overrides the job's mode ("full" or "incremental") when not
	// empty. Any other mode fails Run before a run is recorded.
	Mode string
	// Progress, when not nil, is called as the run goes.
	Progress func(Progress)
}

// Run runs one job now: its read streams, then its write-back actions.
func (e *Engine) Run(ctx context.Context, req Request) (*Result, error) {
	progress := req.Progress
	if progress == nil {
		progress = func(Progress) {}
	}
	tenantID, jobID := req.Tenant, req.Job
	tenant, err := e.cfg.Tenant(tenantID)
	if err != nil {
		return nil, err
	}
	job, err := tenant.Job(jobID)
	if err != nil {
		return nil, err
	}
	conn, err := tenant.Connection(job.Connection)
	if err != nil {
		return nil, err
	}
	key := tenant.ID + "/" + job.ID
	e.mu.Lock()
	if e.running[key] {
		e.mu.Unlock()
		return nil, &DeferredError{Job: key, Reason: "a run of this job is still in progress"}
	}
	e.running[key] = true
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.running, key)
		e.mu.Unlock()
	}()

	// A bad mode is the caller's mistake, not a run: nothing is recorded.
	mode, err := sdk.ParseMode(cmp.Or(req.Mode, job.Mode, "incremental"))
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", key, err)
	}
	start := e.opts.Now()
	res := &Result{Tenant: tenant.ID, Job: job.ID}
	runID, err := e.store.StartRun(ctx, tenant.ID, job.ID, start)
	if errors.Is(err, store.ErrRunInProgress) {
		return nil, &DeferredError{Job: key, Reason: "another hub process is running this job (" + err.Error() + ")"}
	}
	if err != nil {
		return nil, err
	}
	stopBeat := e.heartbeat(ctx, runID)
	err = e.run(ctx, tenant, job, conn, mode, res, progress)
	stopBeat()
	res.Duration = e.opts.Now().Sub(start)
	rr := store.RunResult{At: e.opts.Now(), Status: "ok", Records: res.Records()}
	var deferred *DeferredError
	switch {
	case errors.As(err, &deferred):
		rr.Status, rr.Error = "deferred", deferred.Reason
	case errors.Is(err, context.Canceled):
		rr.Status, rr.Error = "cancelled", err.Error()
	case err != nil:
		rr.Status, rr.Error = "failed", err.Error()
	}
	if ferr := e.store.FinishRun(context.WithoutCancel(ctx), runID, rr); ferr != nil && err == nil {
		err = ferr
	}
	log := e.log.Info()
	if err != nil {
		log = e.log.Warn().Err(err)
	}
	log.Str("tenant", tenant.ID).Str("job", job.ID).Str("status", rr.Status).Int64("records", rr.Records).Float64("took_ms", millis(res.Duration)).Msg("job run finished")
	return res, err
}

// heartbeatEvery is how often a running run renews its lease in the store
// (see store.Store.StartRun).
const heartbeatEvery = 20 * time.Second

// heartbeat renews a run's lease until the returned stop is called.
func (e *Engine) heartbeat(ctx context.Context, runID int64) (stop func()) {
	return periodic.Run(ctx, heartbeatEvery, func(ctx context.Context) {
		if err := e.store.Heartbeat(ctx, runID, e.opts.Now()); err != nil && ctx.Err() == nil {
			e.log.Warn().Err(err).Int64("run", runID).Msg("run heartbeat")
		}
	})
}

// SchedulerRunning records in the store that this process runs the
// scheduler, from now on, and renews the record like a run's lease until
// the returned stop is called, which records the scheduler stopped.
func (e *Engine) SchedulerRunning(ctx context.Context) (stop func(), err error) {
	started := e.opts.Now()
	if err := e.store.SchedulerBeat(ctx, started, started); err != nil {
		return nil, err
	}
	stopBeat := periodic.Run(ctx, heartbeatEvery, func(ctx context.Context) {
		if err := e.store.SchedulerBeat(ctx, started, e.opts.Now()); err != nil && ctx.Err() == nil {
			e.log.Warn().Err(err).Msg("scheduler heartbeat")
		}
	})
	return func() {
		stopBeat()
		if err := e.store.SchedulerStopped(context.WithoutCancel(ctx)); err != nil {
			e.log.Warn().Err(err).Msg("record the scheduler stopped")
		}
	}, nil
}

func (e *Engine) run(ctx context.Context, tenant *config.Tenant, job *config.Job, conn *config.Connection, mode sdk.Mode, res *Result, progress func(Progress)) error {
	salt := []byte(tenant.PhoneSalt)
	if _, err := e.store.EnsureTenant(ctx, tenant.ID, salt); err != nil {
		return err
	}
	inst, err := e.instance(tenant, conn)
	if err != nil {
		return err
	}
	spec := inst.Spec()
	for _, name := range job.Read {
		st, ok := spec.Stream(name)
		if !ok {
			return sdk.ConfigError("read", "job %s: connector %s has no stream %q", job.ID, spec.Name, name)
		}
		if mode == sdk.ModeIncremental && !st.Incremental {
			mode = sdk.ModeFull
		}
	}
	for _, name := range job.Write {
		if _, ok := spec.Action(name); !ok {
			return sdk.ConfigError("write", "job %s: connector %s has no write action %q", job.ID, spec.Name, name)
		}
	}
	for _, name := range job.Read {
		sr, err := e.readStream(ctx, tenant, job, conn, inst, name, mode, progress)
		res.Streams = append(res.Streams, sr)
		if err != nil {
			return err
		}
	}
	if len(job.Write) > 0 {
		wr, err := e.deliver(ctx, tenant, job, conn, inst, progress)
		res.Writes = wr
		if err != nil {
			return err
		}
	}
	return nil
}

// instance returns the plugin instance of a connection, wired to this
// connection's host services.
func (e *Engine) instance(tenant *config.Tenant, conn *config.Connection) (*plugin.Instance, error) {
	entry, ok := e.plugins.Catalog().Lookup(conn.Connector)
	if !ok {
		return nil, sdk.ConfigError("connector", "connection %s: no plugin named %q in the catalog (have %v)", conn.ID, conn.Connector, e.plugins.Catalog().Names())
	}
	limits := map[string]float64{}
	for _, l := range entry.Spec.RateLimits {
		limits[l.API] = l.PerSecond
	}
	for api, v := range conn.RateLimits {
		limits[api] = v
	}
	svc := &host.Service{Tenant: tenant.ID, Connection: conn.ID, Tokens: e.tokens, Limiter: e.limiter, Limits: limits, Config: e.store, Spec: entry.Spec, Members: e.store}
	return e.plugins.Instance(tenant.ID, conn.ID, conn.Connector, svc)
}

// configJSON is the connection's config as the plugin gets it: the YAML
// config with any patch the plugin persisted (rotated tokens) on top.
func (e *Engine) configJSON(ctx context.Context, tenant *config.Tenant, conn *config.Connection) ([]byte, error) {
	merged := map[string]any{}
	for k, v := range conn.Config {
		merged[k] = v
	}
	patch, err := e.store.ConfigPatch(ctx, tenant.ID, conn.ID)
	if err != nil {
		return nil, err
	}
	if len(patch) > 0 {
		var p map[string]any
		if err := json.Unmarshal(patch, &p); err != nil {
			return nil, fmt.Errorf("stored config patch of %s: %w", conn.ID, err)
		}
		for k, v := range p {
			merged[k] = v
		}
	}
	return json.Marshal(merged)
}

func (e *Engine) breakerSettings(job *config.Job) breaker.Settings {
	return breaker.Settings{Failures: job.Breaker.Failures, OpenFor: job.Breaker.OpenFor}
}

func (e *Engine) readStream(ctx context.Context, tenant *config.Tenant, job *config.Job, conn *config.Connection, inst *plugin.Instance, stream string, mode sdk.Mode, progress func(Progress)) (StreamResult, error) {
	sr := StreamResult{Stream: stream}
	name := tenant.ID + "/" + conn.ID + "/read"
	idWarnings := e.identityWarnings(tenant.ID, conn.ID, stream)
	defer idWarnings.summary()
	failures := 0
	if mode == sdk.ModeFull {
		// A full run starts over unless it resumes an interrupted run: drop the
		// checkpoint a completed run left, before anything of this run is
		// committed, so a crash cannot resume from the old end.
		state, err := e.store.StreamState(ctx, tenant.ID, job.ID, stream)
		if err != nil {
			return sr, err
		}
		if state.Status != "running" && state.Checkpoint != nil {
			if err := e.store.ResetStream(ctx, tenant.ID, job.ID, stream); err != nil {
				return sr, err
			}
		}
	}
	for {
		state, err := e.store.StreamState(ctx, tenant.ID, job.ID, stream)
		if err != nil {
			return sr, err
		}
		cp := state.Checkpoint
		cfg, err := e.configJSON(ctx, tenant, conn)
		if err != nil {
			return sr, err
		}
		progressed := false
		err = e.breakers.Do(name, e.breakerSettings(job), func() error {
			remote, err := inst.Remote(ctx)
			if err != nil {
				return err
			}
			readCtx, stopReading := context.WithCancel(ctx)
			defer stopReading()
			rs, err := remote.Read(readCtx, cfg, sdk.ReadRequest{Stream: stream, Mode: mode, Checkpoint: cp})
			if err != nil {
				return err
			}
			msgs := readAhead(readCtx, rs)
			// The writer and this loop both report: mu guards sr and
			// progress calls.
			var mu sync.Mutex
			w := startGroupWriter(func(b store.Batch) error {
				br, err := e.store.ApplyBatch(ctx, b)
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				sr.Records += int64(len(b.Records))
				sr.Written += int64(br.Written)
				sr.Unchanged += int64(br.Unchanged)
				sr.DeadLettered += int64(br.DeadLettered)
				sr.Erased += int64(br.Erased)
				sr.NewMembers += int64(br.NewMembers)
				sr.Merges += int64(br.Merges)
				sr.Receipts += int64(br.Receipts)
				sr.UnknownReceipts += int64(br.UnknownReceipts)
				if b.Checkpoint != nil {
					progressed = true
				}
				progress(Progress{Tenant: tenant.ID, Job: job.ID, Stream: stream, Records: sr.Records, Event: "batch"})
				return nil
			})
			defer w.close()
			// Group commit: consecutive batches are written in one
			// transaction with the last checkpoint among them, up to
			// GroupRecords records or groupWait after the first. A group
			// is prepared here while the writer stores the one before.
			var pending []sdk.Record
			var pendingCP []byte
			var since time.Time
			flush := func() error {
				if len(pending) == 0 && pendingCP == nil {
					return nil
				}
				b := store.Batch{Tenant: tenant.ID, Job: job.ID, Connection: conn.ID, Stream: stream, Records: pending, Checkpoint: pendingCP, At: e.opts.Now(), Rules: &tenant.Identity}
				pending, pendingCP = nil, nil
				if p, ok := e.store.(batchPreparer); ok {
					if err := p.PrepareBatch(ctx, &b); err != nil {
						return err
					}
				}
				return w.send(b)
			}
			for {
				next, ok := <-msgs
				if !ok {
					// The reader stopped for a cancellation.
					next.err = cmp.Or(readCtx.Err(), io.ErrUnexpectedEOF)
				}
				msg, err := next.msg, next.err
				if errors.Is(err, io.EOF) {
					err = sdk.UnavailableError(nil, "stream %s ended before the plugin said it was done", stream)
				}
				if err != nil {
					// What arrived before the failure is kept: it is whole
					// records, and its checkpoint is a safe resume point.
					if ferr := cmp.Or(flush(), w.close()); ferr != nil {
						return ferr
					}
					return err
				}
				if msg.Done {
					return cmp.Or(flush(), w.close())
				}
				if msg.Progress != nil {
					mu.Lock()
					progress(Progress{Tenant: tenant.ID, Job: job.ID, Stream: stream, Records: sr.Records, Done: msg.Progress.Done, Total: msg.Progress.Total, Event: "progress"})
					mu.Unlock()
					continue
				}
				if len(msg.Records) == 0 && msg.Checkpoint == nil {
					continue
				}
				if len(pending) == 0 {
					since = time.Now()
				}
				idWarnings.check(msg.Records)
				pending = append(pending, msg.Records...)
				if msg.Checkpoint != nil {
					pendingCP = msg.Checkpoint
				}
				if len(pending) >= GroupRecords || time.Since(since) >= groupWait {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		})
		if err == nil {
			progress(Progress{Tenant: tenant.ID, Job: job.ID, Stream: stream, Records: sr.Records, Event: "done"})
			return sr, e.store.SetStreamStatus(ctx, tenant.ID, job.ID, stream, "done", "")
		}
		if ctx.Err() != nil {
			return sr, ctx.Err()
		}
		var open *breaker.OpenError
		if errors.As(err, &open) {
			_ = e.store.SetStreamStatus(ctx, tenant.ID, job.ID, stream, "deferred", open.Error())
			return sr, &DeferredError{Job: tenant.ID + "/" + job.ID, Reason: open.Error()}
		}
		if !breaker.Counted(err) {
			_ = e.store.SetStreamStatus(ctx, tenant.ID, job.ID, stream, "failed", err.Error())
			return sr, fmt.Errorf("stream %s: %w", stream, err)
		}
		if progressed {
			failures = 0
		}
		failures++
		sr.Retries++
		if failures > e.opts.Retries {
			_ = e.store.SetStreamStatus(ctx, tenant.ID, job.ID, stream, "failed", err.Error())
			return sr, fmt.Errorf("stream %s: giving up after %d retries: %w", stream, e.opts.Retries, err)
		}
		wait := e.backoff(failures, err)
		e.log.Warn().Err(err).Str("tenant", tenant.ID).Str("job", job.ID).Str("stream", stream).Float64("wait_ms", millis(wait)).Int("attempt", failures).Msg("stream interrupted; resuming from the last checkpoint")
		progress(Progress{Tenant: tenant.ID, Job: job.ID, Stream: stream, Records: sr.Records, Event: "retry", Wait: wait, Err: err})
		if err := e.opts.Sleep(ctx, wait); err != nil {
			return sr, err
		}
	}
}

// batchPreparer is a store that can derive what it needs of a batch before
// writing it, outside its write transaction.
type batchPreparer interface {
	PrepareBatch(ctx context.Context, b *store.Batch) error
}

// groupWriter applies groups on its own goroutine, one at a time and in
// order, so that the next group is read and prepared while the store writes
// the one before. At most one group waits: memory stays bounded.
type groupWriter struct {
	in    chan store.Batch
	done  chan struct{}
	err   error // the apply error that stopped the writer; read after done
	close func() error
}

func startGroupWriter(apply func(store.Batch) error) *groupWriter {
	w := &groupWriter{in: make(chan store.Batch), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for b := range w.in {
			if err := apply(b); err != nil {
				w.err = err
				return
			}
		}
	}()
	w.close = sync.OnceValue(func() error {
		close(w.in)
		<-w.done
		return w.err
	})
	return w
}

// send hands a group to the writer once it has written the previous one;
// it returns the error that stopped the writer, if one did.
func (w *groupWriter) send(b store.Batch) error {
	select {
	case w.in <- b:
		return nil
	case <-w.done:
		return w.err
	}
}

// readAheadDepth is how many stream messages (of up to 1,000 records each)
// are decoded ahead of the store: reading overlaps the transaction that
// writes the previous group, and memory stays bounded.
const readAheadDepth = 8

type readResult struct {
	msg sdk.Message
	err error
}

// readAhead reads a stream on its own goroutine until it ends, fails or ctx
// is cancelled; the last value sent carries the error (io.EOF at the end)
// or a message with Done set.
func readAhead(ctx context.Context, rs *sdk.ReadStream) <-chan readResult {
	out := make(chan readResult, readAheadDepth)
	go func() {
		defer close(out)
		for {
			msg, err := rs.Next()
			select {
			case out <- readResult{msg, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || msg.Done {
				return
			}
		}
	}()
	return out
}

// backoff is the wait before attempt n: the platform's hint when throttled,
// else exponential with jitter; capped at MaxWait.
func (e *Engine) backoff(n int, err error) time.Duration {
	if w := sdk.RetryAfter(err); w > 0 {
		return min(w, e.opts.MaxWait)
	}
	d := e.opts.Backoff << min(n-1, 10)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	return min(d, e.opts.MaxWait)
}

// deliver sends the connection's pending outbox actions through Write.
func (e *Engine) deliver(ctx context.Context, tenant *config.Tenant, job *config.Job, conn *config.Connection, inst *plugin.Instance, progress func(Progress)) (WriteResult, error) {
	var wr WriteResult
	spec := inst.Spec()
	batch := 500
	for _, a := range job.Write {
		if as, _ := spec.Action(a); as.MaxBatch > 0 {
			batch = min(batch, as.MaxBatch)
		}
	}
	cfg, err := e.configJSON(ctx, tenant, conn)
	if err != nil {
		return wr, err
	}
	name := tenant.ID + "/" + conn.ID + "/write"
	seen := map[int64]bool{}
	for {
		items, err := e.store.PendingActions(ctx, tenant.ID, conn.ID, job.Write, batch+len(seen))
		if err != nil {
			return wr, err
		}
		var todo []store.OutboxItem
		for _, it := range items {
			if !seen[it.ID] && len(todo) < batch {
				todo = append(todo, it)
				seen[it.ID] = true
			}
		}
		if len(todo) == 0 {
			return wr, nil
		}
		var done []store.OutboxResult
		var send []store.OutboxItem
		for _, it := range todo {
			if len(it.Action.Target) == 0 {
				done = append(done, store.OutboxResult{ID: it.ID, Status: sdk.StatusFailed, Error: "the member has no identity on this connection"})
				wr.Failed++
				continue
			}
			send = append(send, it)
		}
		if len(send) > 0 {
			actions := make([]sdk.Action, len(send))
			for i, it := range send {
				actions[i] = it.Action
			}
			var results []sdk.ActionResult
			err = e.breakers.Do(name, e.breakerSettings(job), func() error {
				remote, err := inst.Remote(ctx)
				if err != nil {
					return err
				}
				results, err = remote.Write(ctx, cfg, actions)
				return err
			})
			if err != nil {
				// Nothing is known to be applied: keep all queued for the next run.
				for _, it := range send {
					done = append(done, store.OutboxResult{ID: it.ID, Status: sdk.StatusFailed, Retry: true, Error: err.Error()})
				}
				wr.Retrying += len(send)
				if cerr := e.store.CompleteActions(ctx, tenant.ID, done); cerr != nil {
					return wr, cerr
				}
				var open *breaker.OpenError
				if errors.As(err, &open) {
					return wr, &DeferredError{Job: tenant.ID + "/" + job.ID, Reason: open.Error()}
				}
				return wr, fmt.Errorf("write to %s: %w", conn.ID, err)
			}
			if err := e.storeConsents(ctx, tenant, conn, send, results); err != nil {
				return wr, err
			}
			for i, r := range results {
				or := store.OutboxResult{ID: send[i].ID, Status: r.Status, PlatformRef: r.PlatformRef}
				if r.Err != nil {
					or.Error = r.Err.Error()
				}
				switch r.Status {
				case sdk.StatusApplied, sdk.StatusDuplicate:
					wr.Delivered++
				case sdk.StatusRefused:
					wr.Refused++
				default:
					or.Status = sdk.StatusFailed
					if breaker.Counted(r.Err) {
						or.Retry = true
						wr.Retrying++
					} else {
						wr.Failed++
					}
				}
				done = append(done, or)
			}
		}
		if err := e.store.CompleteActions(ctx, tenant.ID, done); err != nil {
			return wr, err
		}
		progress(Progress{Tenant: tenant.ID, Job: job.ID, Event: "write", Records: int64(wr.Delivered)})
	}
}

// storeConsents records the consents the platform revealed while acting (a
// send refused because the recipient unsubscribed) as records of the
// connection's "consents" stream, carrying the action's target identities:
// they join the member like any record, and the tenant's policy sees them at
// the next send, through any connection. They are stored before the actions'
// outcomes, so a crash in between loses neither (a retried action reports the
// same consent again, under the same record id).
func (e *Engine) storeConsents(ctx context.Context, tenant *config.Tenant, conn *config.Connection, sent []store.OutboxItem, results []sdk.ActionResult) error {
	var recs []sdk.Record
	for i, r := range results {
		if r.Consent == nil {
			continue
		}
		a := sent[i].Action
		recs = append(recs, sdk.Record{ID: "consent:" + a.Key, UpdatedAt: r.Consent.At,
			Member: &mapping.Member{Identities: a.Target, Consents: []mapping.Consent{*r.Consent}}})
	}
	if len(recs) == 0 {
		return nil
	}
	_, err := e.store.ApplyBatch(ctx, store.Batch{Tenant: tenant.ID, Job: "write:" + conn.ID, Connection: conn.ID, Stream: "consents",
		Records: recs, Status: store.StatusReceiving, At: e.opts.Now(), Rules: &tenant.Identity})
	if err != nil {
		return fmt.Errorf("store the consents %s reported: %w", conn.ID, err)
	}
	return nil
}

// GroupRecords is the most records a sync writes in one transaction.
const GroupRecords = 5000

// groupWait is how long a batch may wait for others before its group is
// committed.
const groupWait = 250 * time.Millisecond

// Shutdown kills every plugin process the engine started.
func (e *Engine) Shutdown() { e.plugins.Shutdown() }
