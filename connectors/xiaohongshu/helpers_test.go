package xiaohongshu_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/connectors/xiaohongshu"
	"github.com/channelhub/channelhub/connectors/xiaohongshu/sandbox"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// t0 is the tests' "now": a Tuesday noon in Shanghai.
var t0 = time.Date(2025, 6, 3, 4, 0, 0, 0, time.UTC)

// recorder is an sdk.Emitter that keeps what it is given, in order.
type recorder struct {
	items []item
	// failAfter, when > 0, makes the failAfter-th checkpoint fail (a crash
	// right after it was committed).
	failAfter int
	cps       int
}

// item is a record or a checkpoint.
type item struct {
	rec *sdk.Record
	cp  []byte
}

var errCrash = sdk.UnavailableError(nil, "crash")

func (r *recorder) Emit(_ context.Context, rec sdk.Record) error {
	r.items = append(r.items, item{rec: &rec})
	return nil
}

func (r *recorder) Checkpoint(_ context.Context, c []byte) error {
	r.items = append(r.items, item{cp: c})
	r.cps++
	if r.failAfter > 0 && r.cps == r.failAfter {
		return errCrash
	}
	return nil
}

func (r *recorder) Progress(context.Context, int64, int64) error { return nil }

func (r *recorder) records() []sdk.Record {
	var out []sdk.Record
	for _, it := range r.items {
		if it.rec != nil {
			out = append(out, *it.rec)
		}
	}
	return out
}

func (r *recorder) ids() []string {
	var out []string
	for _, rec := range r.records() {
		if rec.Bad == nil {
			out = append(out, rec.ID)
		}
	}
	return out
}

func (r *recorder) checkpoints() [][]byte {
	var out [][]byte
	for _, it := range r.items {
		if it.cp != nil {
			out = append(out, it.cp)
		}
	}
	return out
}

func (r *recorder) last() []byte {
	cps := r.checkpoints()
	if len(cps) == 0 {
		return nil
	}
	return cps[len(cps)-1]
}

// cursorOf decodes the parts of a checkpoint the tests look at.
type cursorOf struct {
	Phase string                     `json:"phase"`
	Next  int64                      `json:"next"`
	Until int64                      `json:"until"`
	Seen  map[string]json.RawMessage `json:"seen"`
}

func decode(t *testing.T, cp []byte) cursorOf {
	t.Helper()
	var c cursorOf
	if err := json.Unmarshal(cp, &c); err != nil {
		t.Fatalf("checkpoint %s: %v", cp, err)
	}
	return c
}

// env is a sandbox, its server, and what a connector needs to reach it.
type env struct {
	sb  *sandbox.Server
	url string
	// platform is the sandbox's clock, hub the connector's; they start equal
	// and tests move them apart.
	platform, hub *clock
	host          *conformance.FakeHost
	raw           map[string]any
}

// newEnv starts a sandbox whose clock (and the hub's) reads at, with a token
// pair issued to its shop.
func newEnv(t *testing.T, cfg sandbox.Config, at time.Time) *env {
	t.Helper()
	e := &env{platform: newClock(at), hub: newClock(at), host: conformance.NewFakeHost()}
	e.host.Spec = &xiaohongshu.Spec // patches checked as the hub does
	cfg.Now = e.platform.Now
	e.sb = sandbox.New(cfg)
	srv := httptest.NewServer(e.sb)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	c := e.sb.Config()
	tok := e.sb.IssueToken()
	e.raw = map[string]any{
		"app_id": c.AppID, "app_secret": c.AppSecret, "seller_id": c.SellerID,
		"refresh_token": tok.RefreshToken, "api_base": srv.URL,
	}
	return e
}

// at sets both clocks.
func (e *env) at(t time.Time) {
	e.platform.Set(t)
	e.hub.Set(t)
}

// connector builds a connector on the env's config with override laid over
// it, the env's fake host and its clock.
func (e *env) connector(t *testing.T, override map[string]any) *xiaohongshu.Connector {
	t.Helper()
	raw := map[string]any{}
	for k, v := range e.raw {
		raw[k] = v
	}
	for k, v := range override {
		raw[k] = v
	}
	cfg, err := xiaohongshu.Spec.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	c, err := xiaohongshu.New(t.Context(), cfg, sdk.NewHost(zerolog.Nop(), e.host, e.hub.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c.(*xiaohongshu.Connector)
}

// read reads the orders stream to the end and fails the test on an error.
func read(t *testing.T, c sdk.Connector, mode sdk.Mode, cp []byte) *recorder {
	t.Helper()
	var r recorder
	if err := c.Read(t.Context(), sdk.ReadRequest{Stream: xiaohongshu.StreamOrders, Mode: mode, Checkpoint: cp}, &r); err != nil {
		t.Fatalf("read (%s): %v", mode, err)
	}
	return &r
}

// containsAll reports whether s contains every one of subs, ignoring case.
func containsAll(s string, subs ...string) bool {
	s = strings.ToLower(s)
	for _, sub := range subs {
		if !strings.Contains(s, strings.ToLower(sub)) {
			return false
		}
	}
	return true
}
