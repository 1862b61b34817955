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
//			Mutate: func(t *testing.T, stream string) []string { return sb.AddFollowers(5) },
//		})
//	}
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

	"github.com/channelhub/channelhub/sdk"
)

// Harness describes the connector under test and how to drive its sandbox.
// Optional hooks left nil skip the cases that need them, and say so.
type Harness struct {
	Plugin sdk.Plugin
	// Config is a good config pointing at the sandbox.
	Config map[string]any
	// BadCredentials are fields that, laid over Config, make credentials
	// wrong: Check must fail with ClassAuth or ClassInvalidConfig.
	BadCredentials map[string]any
	// Streams to test; default every stream of the spec.
	Streams []string
	// Mutate makes the sandbox produce changes on a stream and returns the
	// record ids an incremental read must then return. Nil skips the
	// incremental case for streams that are not incremental anyway.
	Mutate func(t *testing.T, stream string) []string
	// Throttle makes the sandbox throttle the next calls.
	Throttle func(t *testing.T)
	// WriteAction is an action to apply twice with one key.
	WriteAction *sdk.Action
	// VerifyWrite checks the platform shows WriteAction applied once.
	VerifyWrite func(t *testing.T)
	// Host serves the hub's services; default an in-memory fake.
	Host sdk.HostService
}

// Run runs every case, directly and over gRPC.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Host == nil {
		h.Host = NewFakeHost()
	}
	h.Host = checkedHost{HostService: h.Host, spec: h.Plugin.Spec}
	t.Run("spec", func(t *testing.T) { testSpec(t, h) })
	for _, mode := range []string{"direct", "grpc"} {
		t.Run(mode, func(t *testing.T) {
			var c client
			if mode == "direct" {
				c = &direct{h: h}
			} else {
				c = &overGRPC{r: sdk.NewTestRemote(t, h.Plugin, h.Host, "conformance", "conn")}
			}
			t.Run("check", func(t *testing.T) { testCheck(t, h, c) })
			for _, stream := range streams(h) {
				t.Run("read/"+stream, func(t *testing.T) { testReads(t, h, c, stream) })
			}
			t.Run("cancel", func(t *testing.T) { testCancel(t, h, c) })
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

func (e emitter) Emit(_ context.Context, r sdk.Record) error {
	if r.Stream == "" {
		r.Stream = e.stream
	}
	return e.each(item{rec: &r})
}
func (e emitter) Checkpoint(_ context.Context, cp []byte) error { return e.each(item{cp: cp}) }
func (e emitter) Progress(context.Context, int64, int64) error  { return nil }

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
	if _, err := s.ParseConfig(h.Config); err != nil {
		t.Fatalf("the harness config does not parse: %v", err)
	}
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

// readAll reads a stream to the end.
func readAll(t *testing.T, c client, cfg map[string]any, req sdk.ReadRequest) []item {
	t.Helper()
	var items []item
	if err := c.read(t.Context(), cfg, req, func(it item) error { items = append(items, it); return nil }); err != nil {
		t.Fatalf("read %s (%s): %v", req.Stream, req.Mode, err)
	}
	return items
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

func testReads(t *testing.T, h Harness, c client, stream string) {
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
			t.Fatalf("record %s returned twice by one full read", r.ID)
		}
		seen[r.ID] = true
		kindOK := (spec.Kind == sdk.KindMembers && r.Member != nil) || (spec.Kind == sdk.KindOrders && r.Order != nil) || (spec.Kind == sdk.KindPoints && r.Points != nil) ||
			(spec.Kind == sdk.KindReceipts && r.Receipt != nil)
		if !kindOK {
			t.Fatalf("record %s is not of the stream's kind %s", r.ID, spec.Kind)
		}
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
			got := map[string]bool{}
			for _, id := range ids(full[:i]) {
				got[id] = true
			}
			for _, id := range ids(readAll(t, c, h.Config, sdk.ReadRequest{Stream: stream, Mode: sdk.ModeFull, Checkpoint: full[i].cp})) {
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

func testCancel(t *testing.T, h Harness, c client) {
	ss := streams(h)
	if len(ss) == 0 {
		t.Skip("no streams")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var once sync.Once
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		done <- c.read(ctx, h.Config, sdk.ReadRequest{Stream: ss[0], Mode: sdk.ModeFull}, func(it item) error {
			once.Do(cancel)
			return nil
		})
	}()
	select {
	case err := <-done:
		if err == nil && ctx.Err() != nil && time.Since(start) > 2*time.Second {
			t.Fatal("read ignored cancellation")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("read did not return within 5s of cancellation")
	}
}

func testWrite(t *testing.T, h Harness, c client) {
	if h.WriteAction == nil {
		t.Skip("no WriteAction in the harness")
	}
	a := *h.WriteAction
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
	if h.VerifyWrite != nil {
		h.VerifyWrite(t)
	}
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
