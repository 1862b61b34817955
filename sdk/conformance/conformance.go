// Package conformance is the acceptance kit every connector runs from its
// tests against its sandbox (modelled on Airbyte's Connector Acceptance Tests
// and benthos' integration suite). Each case runs twice: calling the
// connector in process, and through the plugin protocol over an in-memory
// gRPC connection, so the wire mapping is covered too.
//
//	func TestConformance(t *testing.T) {
//		sb := sandbox.New(sandbox.Config{Members: 500})
//		srv := httptest.NewServer(sb)
//		defer srv.Close()
//		conformance.Run(t, conformance.Harness{
//			Plugin: wechat.Plugin,
//			Config: map[string]any{"app_id": …, "api_base": srv.URL},
//			BadCredentials: map[string]any{"app_secret": "wrong"},
//			Seeded: map[string]int{"followers": 500},
//			Mutate: func(t *testing.T, stream string) []string { return sb.AddFollowers(5) },
//		})
//	}
//
// Both runs, direct and over gRPC, go against the same sandbox one after the
// other: the kit calls Mutate (once per incremental stream) and applies
// WriteAction (twice, with one key) once per run, so the sandbox sees two
// Mutate calls per stream and four writes of the same key. Mutate must
// return only the ids its own call changed; VerifyWrite is called after each
// run's writes and must find the action applied once.
//
// What the kit holds a connector to:
//
//   - The spec is valid (sdk.Spec.Check), every secret field is writeOnly in
//     the JSON Schema, and the connector implements what the spec
//     advertises: sdk.Writer when it lists actions, sdk.WebhookHandler when
//     it takes webhooks.
//   - Every record a read returns is of its stream and kind, has an ID, and
//     carries only identities that mapping.Identity.Validate accepts (the hub
//     drops the others from its identity graph).
//   - One uninterrupted read returns each record at most once. A read
//     resumed from a checkpoint loses nothing, and repeats at most the
//     records of the window that ended at that checkpoint (an inclusive time
//     bound), never older ones: it resumes, it does not start over. Repeats
//     across a resume are harmless to the hub, which upserts by ID.
//   - With Seeded, a full read returns exactly that many distinct records.
//   - Cancelling a read mid-stream makes Read return promptly with the
//     context's error (or an error wrapping it).
//   - A write sent twice with one key is answered applied or duplicate both
//     times, and VerifyWrite finds it applied once.
//
// A hook or field left unset skips what needs it, and the test log says so.
package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// Harness describes the connector under test and how to drive its sandbox.
// Optional hooks and fields left nil skip the checks that need them, and the
// test log says which.
type Harness struct {
	Plugin sdk.Plugin
	// Config is a good config pointing at the sandbox.
	Config map[string]any
	// BadCredentials are fields that, laid over Config, make credentials
	// wrong: Check must fail with ClassAuth or ClassInvalidConfig.
	BadCredentials map[string]any
	// Streams to test; default every stream of the spec.
	Streams []string
	// Seeded is how many records the sandbox holds per stream before the
	// kit runs: the first full read must return exactly that many distinct
	// records (by ID; Bad records not counted), later ones that many plus
	// the new ids Mutate returned. A stream without an entry is not checked
	// for completeness (the log says so): a read that stops early then
	// passes unless Mutate catches it.
	Seeded map[string]int
	// Mutate makes the sandbox produce changes on a stream and returns the
	// record ids an incremental read must then return. It is called once
	// per run (direct, then gRPC) against the same sandbox. Nil skips the
	// incremental case.
	Mutate func(t *testing.T, stream string) []string
	// Throttle makes the sandbox throttle the next calls.
	Throttle func(t *testing.T)
	// WriteAction is an action to apply twice with one key, in each run
	// (direct, then gRPC: four times against the same sandbox). Its Type
	// must be an action of the spec.
	WriteAction *sdk.Action
	// VerifyWrite checks the platform shows WriteAction applied once; it is
	// called after each run's writes. Nil leaves idempotency unverified (the
	// log says so): the kit then only checks each write was answered
	// applied or duplicate.
	VerifyWrite func(t *testing.T)
	// Host serves the hub's services; default an in-memory fake. Either way
	// the kit refuses the config patches the hub refuses (see
	// sdk.Spec.CheckConfigPatch).
	Host sdk.HostService
}

// runState is what the runs of one Run share.
type runState struct {
	// added are, per stream, the ids Mutate returned that no earlier full
	// read had: records the sandbox gained.
	added map[string]map[string]bool
}

// Run runs every case, directly and over gRPC.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Host == nil {
		h.Host = NewFakeHost()
	}
	h.Host = checkedHost{HostService: h.Host, spec: h.Plugin.Spec}
	t.Run("spec", func(t *testing.T) { testSpec(t, h) })
	state := &runState{added: map[string]map[string]bool{}}
	for _, mode := range []string{"direct", "grpc"} {
		t.Run(mode, func(t *testing.T) {
			// connect reaches a plugin (the harness's, or the kit's probe
			// around it) the way this run does.
			connect := func(t *testing.T, p sdk.Plugin) client {
				if mode == "direct" {
					hp := h
					hp.Plugin = p
					return &direct{h: hp}
				}
				return &overGRPC{r: sdk.NewTestRemote(t, p, h.Host, "conformance", "conn")}
			}
			c := connect(t, h.Plugin)
			t.Run("check", func(t *testing.T) { testCheck(t, h, c) })
			for _, stream := range streams(h) {
				t.Run("read/"+stream, func(t *testing.T) { testReads(t, h, c, stream, state) })
			}
			t.Run("cancel", func(t *testing.T) { testCancel(t, h, connect) })
			t.Run("write", func(t *testing.T) { testWrite(t, h, c) })
		})
	}
}

func streams(h Harness) []string {
	if len(h.Streams) > 0 {
		return h.Streams
	}
	var out []string
	for _, s := range h.Plugin.Spec.Streams {
		out = append(out, s.Name)
	}
	return out
}

// item is one thing a read produced: a record or a checkpoint.
type item struct {
	rec *sdk.Record
	cp  []byte
}

// client is the connector reached directly or over gRPC.
type client interface {
	check(ctx context.Context, cfg map[string]any) error
	read(ctx context.Context, cfg map[string]any, req sdk.ReadRequest, each func(item) error) error
	write(ctx context.Context, cfg map[string]any, actions []sdk.Action) ([]sdk.ActionResult, error)
}

type direct struct{ h Harness }

func (d *direct) connector(ctx context.Context, raw map[string]any) (sdk.Connector, error) {
	cfg, err := d.h.Plugin.Spec.ParseConfig(raw)
	if err != nil {
		return nil, err
	}
	return d.h.Plugin.New(ctx, cfg, sdk.NewHost(zerolog.Nop(), d.h.Host, nil))
}

func (d *direct) check(ctx context.Context, raw map[string]any) error {
	c, err := d.connector(ctx, raw)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return c.Check(ctx)
}

type emitter struct {
	stream string
	each   func(item) error
}

// Emit, Checkpoint and Progress fail once ctx is done, as the sdk's own
// emitter does.
func (e emitter) Emit(ctx context.Context, r sdk.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.Stream == "" {
		r.Stream = e.stream
	}
	return e.each(item{rec: &r})
}

func (e emitter) Checkpoint(ctx context.Context, cp []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.each(item{cp: cp})
}

func (e emitter) Progress(ctx context.Context, _, _ int64) error { return ctx.Err() }

func (d *direct) read(ctx context.Context, raw map[string]any, req sdk.ReadRequest, each func(item) error) error {
	c, err := d.connector(ctx, raw)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return c.Read(ctx, req, emitter{stream: req.Stream, each: each})
}

func (d *direct) write(ctx context.Context, raw map[string]any, actions []sdk.Action) ([]sdk.ActionResult, error) {
	c, err := d.connector(ctx, raw)
	if err != nil {
		return nil, err
	}
	defer c.Close(ctx)
	w, ok := c.(sdk.Writer)
	if !ok {
		return nil, errors.New("connector does not implement sdk.Writer")
	}
	return w.Write(ctx, actions), nil
}

type overGRPC struct{ r *sdk.Remote }

func (g *overGRPC) check(ctx context.Context, raw map[string]any) error {
	b, _ := json.Marshal(raw)
	return g.r.Check(ctx, b)
}

func (g *overGRPC) read(ctx context.Context, raw map[string]any, req sdk.ReadRequest, each func(item) error) error {
	b, _ := json.Marshal(raw)
	rs, err := g.r.Read(ctx, b, req)
	if err != nil {
		return err
	}
	for {
		msg, err := rs.Next()
		if errors.Is(err, io.EOF) {
			return errors.New("stream ended without its done status")
		}
		if err != nil {
			return err
		}
		if msg.Done {
			return nil
		}
		for i := range msg.Records {
			if err := each(item{rec: &msg.Records[i]}); err != nil {
				return err
			}
		}
		if msg.Checkpoint != nil {
			if err := each(item{cp: msg.Checkpoint}); err != nil {
				return err
			}
		}
	}
}

func (g *overGRPC) write(ctx context.Context, raw map[string]any, actions []sdk.Action) ([]sdk.ActionResult, error) {
	b, _ := json.Marshal(raw)
	return g.r.Write(ctx, b, actions)
}

func testSpec(t *testing.T, h Harness) {
	s := h.Plugin.Spec
	if err := s.Check(); err != nil {
		t.Fatalf("spec: %v", err)
	}
	var schema struct {
		Type       string                    `json:"type"`
		Properties map[string]map[string]any `json:"properties"`
	}
	if err := json.Unmarshal([]byte(s.JSONSchema()), &schema); err != nil || schema.Type != "object" {
		t.Fatalf("config JSON Schema is not an object schema: %v", err)
	}
	for _, f := range s.Config {
		if f.Secret && schema.Properties[f.Name]["writeOnly"] != true {
			t.Errorf("secret field %s is not writeOnly in the schema", f.Name)
		}
	}
	if len(s.Streams) == 0 && len(s.Actions) == 0 {
		t.Error("spec declares neither streams nor actions")
	}
	cfg, err := s.ParseConfig(h.Config)
	if err != nil {
		t.Fatalf("the harness config does not parse: %v", err)
	}
	// The connector implements what the spec advertises: the hub sends
	// writes and webhooks by the spec alone.
	c, err := h.Plugin.New(t.Context(), cfg, sdk.NewHost(zerolog.Nop(), h.Host, nil))
	if err != nil {
		t.Fatalf("new connector: %v", err)
	}
	defer c.Close(t.Context())
	if _, ok := c.(sdk.Writer); len(s.Actions) > 0 && !ok {
		t.Errorf("the spec lists actions %v, but the connector (%T) does not implement sdk.Writer", actionNames(s), c)
	}
	if _, ok := c.(sdk.WebhookHandler); s.Webhook && !ok {
		t.Errorf("the spec says the connector takes webhooks, but it (%T) does not implement sdk.WebhookHandler", c)
	}
}

func actionNames(s sdk.Spec) []string {
	var out []string
	for _, a := range s.Actions {
		out = append(out, a.Name)
	}
	return out
}

func testCheck(t *testing.T, h Harness, c client) {
	ctx := t.Context()
	if err := c.check(ctx, h.Config); err != nil {
		t.Fatalf("check with good credentials: %v", err)
	}
	if h.BadCredentials == nil {
		t.Skip("no BadCredentials in the harness")
	}
	bad := maps.Clone(h.Config)
	maps.Copy(bad, h.BadCredentials)
	err := c.check(ctx, bad)
	if err == nil {
		t.Fatal("check with bad credentials passed")
	}
	if !errors.Is(err, sdk.ErrAuth) && !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("check with bad credentials: %v (class %s), want auth or invalid_config", err, sdk.ClassOf(err))
	}
	for _, v := range h.BadCredentials {
		if s, ok := v.(string); ok && len(s) > 3 && strings.Contains(err.Error(), s) {
			t.Fatalf("the error %q echoes a credential", err)
		}
	}
}

// readAll reads a stream to the end and checks what every record carries.
func readAll(t *testing.T, c client, cfg map[string]any, req sdk.ReadRequest) []item {
	t.Helper()
	var items []item
	if err := c.read(t.Context(), cfg, req, func(it item) error { items = append(items, it); return nil }); err != nil {
		t.Fatalf("read %s (%s): %v", req.Stream, req.Mode, err)
	}
	for _, it := range items {
		if it.rec != nil && it.rec.Bad == nil {
			checkIdentities(t, *it.rec)
		}
	}
	return items
}

// checkIdentities fails a record that carries an identity the hub would
// drop. It names the record and the identity's type and scope, never its
// value.
func checkIdentities(t *testing.T, r sdk.Record) {
	t.Helper()
	for _, id := range r.Identities() {
		if err := id.Validate(); err != nil {
			t.Fatalf("record %s: identity %s (scope %q) is malformed, and the hub would drop it: %v", r.ID, id.Type, id.Scope, err)
		}
	}
}

// unique returns the distinct ids, and the first id found twice ("" when
// none is).
func unique(ids []string) (map[string]bool, string) {
	set := make(map[string]bool, len(ids))
	twice := ""
	for _, id := range ids {
		if set[id] && twice == "" {
			twice = id
		}
		set[id] = true
	}
	return set, twice
}

func ids(items []item) []string {
	var out []string
	for _, it := range items {
		if it.rec != nil && it.rec.Bad == nil {
			out = append(out, it.rec.ID)
		}
	}
	return out
}

func lastCheckpoint(items []item) []byte {
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].cp != nil {
			return items[i].cp
		}
	}
	return nil
}

func testReads(t *testing.T, h Harness, c client, stream string, state *runState) {
	spec, ok := h.Plugin.Spec.Stream(stream)
	if !ok {
		t.Fatalf("spec has no stream %q", stream)
	}
	full := readAll(t, c, h.Config, sdk.ReadRequest{Stream: stream, Mode: sdk.ModeFull})
	all := ids(full)
	if len(all) == 0 {
		t.Fatal("a full read returned no records: seed the sandbox")
	}
	seen := map[string]bool{}
	for _, it := range full {
		r := it.rec
		if r == nil {
			continue
		}
		if r.Stream != stream {
			t.Fatalf("record %s has stream %q", r.ID, r.Stream)
		}
		if r.Bad != nil {
			continue
		}
		if r.ID == "" {
			t.Fatal("a record has no ID")
		}
		if seen[r.ID] {
			t.Fatalf("record %s returned twice by one full read: emit each record once per read", r.ID)
		}
		seen[r.ID] = true
		kindOK := (spec.Kind == sdk.KindMembers && r.Member != nil) || (spec.Kind == sdk.KindOrders && r.Order != nil) || (spec.Kind == sdk.KindPoints && r.Points != nil) ||
			(spec.Kind == sdk.KindReceipts && r.Receipt != nil)
		if !kindOK {
			t.Fatalf("record %s is not of the stream's kind %s", r.ID, spec.Kind)
		}
	}

	if n, ok := h.Seeded[stream]; ok {
		want := n + len(state.added[stream])
		if len(seen) != want {
			t.Fatalf("a full read returned %d distinct records, want %d (Seeded %d, %d added by Mutate): a read that stops early loses records", len(seen), want, n, len(state.added[stream]))
		}
	} else {
		t.Logf("completeness not checked: set Harness.Seeded[%q] to the number of records the sandbox holds", stream)
	}

	t.Run("resume", func(t *testing.T) {
		var cps []int
		for i, it := range full {
			if it.cp != nil && i < len(full)-1 {
				cps = append(cps, i)
			}
		}
		if len(cps) == 0 {
			t.Skip("the full read checkpointed only at its end")
		}
		step := max(1, len(cps)/10)
		for k := 0; k < len(cps); k += step {
			i := cps[k]
			// Records emitted before the checkpoint that precedes this one:
			// a resumed read may repeat the window that ended at its
			// checkpoint (an inclusive time bound), not these.
			older := map[string]bool{}
			if k > 0 {
				older, _ = unique(ids(full[:cps[k-1]]))
			}
			got, _ := unique(ids(full[:i]))
			resumed := ids(readAll(t, c, h.Config, sdk.ReadRequest{Stream: stream, Mode: sdk.ModeFull, Checkpoint: full[i].cp}))
			if _, twice := unique(resumed); twice != "" {
				t.Fatalf("resuming from checkpoint %d returned record %s twice in one read", k, twice)
			}
			for _, id := range resumed {
				if older[id] {
					t.Fatalf("resuming from checkpoint %d returned record %s again, emitted before the checkpoint preceding it: resume from req.Checkpoint, do not start over", k, id)
				}
				got[id] = true
			}
			for id := range seen {
				if !got[id] {
					t.Fatalf("resuming from checkpoint %d lost record %s", k, id)
				}
			}
		}
	})

	t.Run("incremental", func(t *testing.T) {
		if !spec.Incremental {
			t.Skip("stream is not incremental")
		}
		if h.Mutate == nil {
			t.Skip("no Mutate hook in the harness")
		}
		cp := lastCheckpoint(full)
		if cp == nil {
			t.Fatal("an incremental stream's full read left no checkpoint")
		}
		want := h.Mutate(t, stream)
		for _, id := range want {
			if !seen[id] {
				if state.added[stream] == nil {
					state.added[stream] = map[string]bool{}
				}
				state.added[stream][id] = true
			}
		}
		got := ids(readAll(t, c, h.Config, sdk.ReadRequest{Stream: stream, Mode: sdk.ModeIncremental, Checkpoint: cp}))
		slices.Sort(got)
		if d := slices.Compact(slices.Clone(got)); len(d) != len(got) {
			t.Fatalf("incremental read returned duplicates: %v", got)
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("incremental read returned %d records %v, want exactly the %d changed %v", len(got), head(got), len(want), head(want))
		}
	})

	t.Run("throttle", func(t *testing.T) {
		if h.Throttle == nil {
			t.Skip("no Throttle hook in the harness")
		}
		h.Throttle(t)
		// Wait it out as the hub does: resume from the last checkpoint.
		got := map[string]bool{}
		var cp []byte
		throttled := false
		for attempt := 0; ; attempt++ {
			if attempt > 50 {
				t.Fatal("still throttled after 50 attempts")
			}
			var lastCP []byte
			var batch []string
			err := c.read(t.Context(), h.Config, sdk.ReadRequest{Stream: stream, Mode: sdk.ModeFull, Checkpoint: cp}, func(it item) error {
				if it.cp != nil {
					for _, id := range batch {
						got[id] = true
					}
					batch, lastCP = nil, it.cp
				}
				if it.rec != nil && it.rec.Bad == nil {
					batch = append(batch, it.rec.ID)
				}
				return nil
			})
			for _, id := range batch {
				got[id] = true
			}
			if lastCP != nil {
				cp = lastCP
			}
			if err == nil {
				break
			}
			if !errors.Is(err, sdk.ErrThrottled) {
				t.Fatalf("throttled read failed with %v (class %s), want ErrThrottled", err, sdk.ClassOf(err))
			}
			if sdk.RetryAfter(err) < 0 {
				t.Fatalf("negative retry-after in %v", err)
			}
			throttled = true
			time.Sleep(5 * time.Millisecond)
		}
		if !throttled {
			t.Fatal("the Throttle hook did not make the connector report throttling")
		}
		for id := range seen {
			if !got[id] {
				t.Fatalf("after waiting out throttling, record %s is missing", id)
			}
		}
	})
}

func head(s []string) []string { return s[:min(5, len(s))] }

// cancelWait bounds how long the kit waits for a connector to notice a
// cancellation; firstWait how long for its first record.
const (
	cancelWait = 5 * time.Second
	firstWait  = 30 * time.Second
)

func testCancel(t *testing.T, h Harness, connect func(*testing.T, sdk.Plugin) client) {
	ss := streams(h)
	if len(ss) == 0 {
		t.Skip("no streams")
	}
	probe := newCancelProbe()
	c := connect(t, probe.plugin(h.Plugin))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- c.read(ctx, h.Config, sdk.ReadRequest{Stream: ss[0], Mode: sdk.ModeFull}, func(item) error { return nil })
	}()
	select {
	case <-probe.first:
	case err := <-done:
		t.Fatalf("the read of %s ended (%v) before it emitted anything: seed the sandbox", ss[0], err)
	case <-time.After(firstWait):
		t.Fatalf("no record of %s within %s", ss[0], firstWait)
	}
	// The connector is held in its first Emit until the cancellation
	// reaches it: it is cancelled mid-stream.
	cancel()
	var err error
	select {
	case err = <-probe.returned:
	case <-time.After(cancelWait):
		t.Fatalf("Read did not return within %s of cancellation", cancelWait)
	}
	if err == nil {
		t.Fatal("Read returned nil after its ctx was cancelled mid-stream: return ctx.Err() (or an error wrapping it) when ctx is cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Read returned %v (class %s) after its ctx was cancelled mid-stream, want context.Canceled or an error wrapping it", err, sdk.ClassOf(err))
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the hub side of the cancelled read got %v, want context.Canceled", err)
		}
	case <-time.After(cancelWait):
		t.Fatalf("the hub side of the read did not end within %s of cancellation", cancelWait)
	}
}

// cancelProbe wraps a plugin so the kit learns when its connector first
// emits and what its Read returns, however the connector is reached.
type cancelProbe struct {
	first    chan struct{} // closed at the first Emit, Checkpoint or Progress
	once     sync.Once
	returned chan error // what the first Read returned
}

func newCancelProbe() *cancelProbe {
	return &cancelProbe{first: make(chan struct{}), returned: make(chan error, 1)}
}

func (p *cancelProbe) plugin(in sdk.Plugin) sdk.Plugin {
	out := in
	out.New = func(ctx context.Context, cfg sdk.Config, host *sdk.Host) (sdk.Connector, error) {
		c, err := in.New(ctx, cfg, host)
		if err != nil {
			return nil, err
		}
		return &probedConnector{Connector: c, p: p}, nil
	}
	return out
}

type probedConnector struct {
	sdk.Connector
	p *cancelProbe
}

func (c *probedConnector) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	err := c.Connector.Read(ctx, req, &probedEmitter{Emitter: out, p: c.p, readCtx: ctx})
	select {
	case c.p.returned <- err:
	default:
	}
	return err
}

type probedEmitter struct {
	sdk.Emitter
	p       *cancelProbe
	readCtx context.Context
}

// hold tells the kit the connector emits, the first time, and holds it
// until its read is cancelled (or cancelWait passes).
func (e *probedEmitter) hold() {
	e.p.once.Do(func() {
		close(e.p.first)
		select {
		case <-e.readCtx.Done():
		case <-time.After(cancelWait):
		}
	})
}

func (e *probedEmitter) Emit(ctx context.Context, r sdk.Record) error {
	e.hold()
	return e.Emitter.Emit(ctx, r)
}

func (e *probedEmitter) Checkpoint(ctx context.Context, cp []byte) error {
	e.hold()
	return e.Emitter.Checkpoint(ctx, cp)
}

func (e *probedEmitter) Progress(ctx context.Context, done, total int64) error {
	e.hold()
	return e.Emitter.Progress(ctx, done, total)
}

func testWrite(t *testing.T, h Harness, c client) {
	if h.WriteAction == nil {
		if len(h.Plugin.Spec.Actions) > 0 {
			t.Skipf("writes not tested: set Harness.WriteAction to one of %v", actionNames(h.Plugin.Spec))
		}
		t.Skip("no WriteAction in the harness")
	}
	a := *h.WriteAction
	if _, ok := h.Plugin.Spec.Action(a.Type); !ok {
		t.Fatalf("WriteAction's type %q is not an action of the spec (%v)", a.Type, actionNames(h.Plugin.Spec))
	}
	for i := range 2 {
		res, err := c.write(t.Context(), h.Config, []sdk.Action{a})
		if err != nil {
			t.Fatalf("write %d: %v", i+1, err)
		}
		if len(res) != 1 || res[0].Key != a.Key {
			t.Fatalf("write %d returned %+v, want one result for key %s", i+1, res, a.Key)
		}
		if res[0].Status != sdk.StatusApplied && res[0].Status != sdk.StatusDuplicate {
			t.Fatalf("write %d: %s: %v", i+1, res[0].Status, res[0].Err)
		}
	}
	t.Run("applied once", func(t *testing.T) {
		if h.VerifyWrite == nil {
			t.Skip("write idempotency not verified: set Harness.VerifyWrite to check the sandbox shows WriteAction applied once")
		}
		h.VerifyWrite(t)
	})
}

// FakeHost is an in-memory sdk.HostService: a token cache, no rate limits,
// and a record of config patches.
type FakeHost struct {
	mu      sync.Mutex
	tokens  map[string]sdk.Token
	Patches [][]byte
	// Spec, when set, makes UpdateConfig refuse patches the hub refuses:
	// keys that are not config fields of the spec, values of the wrong
	// type (see sdk.Spec.CheckConfigPatch). Run checks every patch against
	// the harness's plugin spec whatever host it is given.
	Spec *sdk.Spec
	// Members are LookupMember's answers, by identifier as asked; an
	// identifier not in it is not found.
	Members map[mapping.Identity]sdk.MemberLookup
	// Lookups are the LookupMember calls made: the identifier asked about,
	// then its sameRecord identifiers.
	Lookups [][]mapping.Identity
}

// NewFakeHost returns an empty FakeHost.
func NewFakeHost() *FakeHost { return &FakeHost{tokens: map[string]sdk.Token{}} }

// GetToken implements sdk.HostService.
func (f *FakeHost) GetToken(_ context.Context, key string) (sdk.Token, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tokens[key]
	return t, ok, nil
}

// PutToken implements sdk.HostService.
func (f *FakeHost) PutToken(_ context.Context, key string, t sdk.Token) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[key] = t
	return nil
}

// InvalidateToken implements sdk.HostService.
func (f *FakeHost) InvalidateToken(_ context.Context, key, value string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if value != "" && f.tokens[key].Value == value {
		delete(f.tokens, key)
	}
	return nil
}

// LookupMember implements sdk.HostService.
func (f *FakeHost) LookupMember(_ context.Context, id mapping.Identity, sameRecord ...mapping.Identity) (sdk.MemberLookup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Lookups = append(f.Lookups, append([]mapping.Identity{id}, sameRecord...))
	return f.Members[id], nil
}

// checkedHost refuses the config patches the hub refuses, then passes the
// call on.
type checkedHost struct {
	sdk.HostService
	spec sdk.Spec
}

func (c checkedHost) UpdateConfig(ctx context.Context, patch []byte) error {
	if err := c.spec.CheckConfigPatch(patch); err != nil {
		return err
	}
	return c.HostService.UpdateConfig(ctx, patch)
}

// Acquire implements sdk.HostService.
func (f *FakeHost) Acquire(context.Context, string, int) (time.Duration, error) { return 0, nil }

// UpdateConfig implements sdk.HostService.
func (f *FakeHost) UpdateConfig(_ context.Context, patch []byte) error {
	if f.Spec != nil {
		if err := f.Spec.CheckConfigPatch(patch); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Patches = append(f.Patches, patch)
	return nil
}
