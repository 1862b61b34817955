package douyin_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/connectors/douyin"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

// t0 is the tests' fixed wall clock.
var t0 = time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)

// clock is a settable clock shared by a sandbox and a connector.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a sandbox on a fixed clock behind an httptest server, with a
// connector config pointing at it and a fake host.
type env struct {
	clk  *clock
	sb   *sandbox.Server
	srv  *httptest.Server
	host *conformance.FakeHost
	raw  map[string]any
	// hostService, when set, replaces host as the connector's host services.
	hostService sdk.HostService
}

func newEnv(t *testing.T, cfg sandbox.Config) *env {
	t.Helper()
	e := &env{clk: &clock{t: t0}, host: conformance.NewFakeHost()}
	e.host.Spec = &douyin.Spec // patches checked as the hub does
	if cfg.Orders == 0 {
		cfg.Orders = 600
	}
	if cfg.Members == 0 {
		cfg.Members = 500
	}
	cfg.Now = e.clk.Now
	e.sb = sandbox.New(cfg)
	e.srv = httptest.NewServer(e.sb)
	t.Cleanup(e.srv.Close)
	c := e.sb.Config()
	e.raw = map[string]any{
		"app_key": c.AppKey, "app_secret": c.AppSecret, "shop_id": c.ShopID, "brand": c.Brand,
		"member_app_id": c.MemberAppID, "api_base": e.srv.URL, "lag": "0s",
	}
	return e
}

// connector builds a connector for the env's config with override laid over
// it, on the env's clock and host.
func (e *env) connector(t *testing.T, override map[string]any) *douyin.Connector {
	t.Helper()
	raw := map[string]any{}
	for k, v := range e.raw {
		raw[k] = v
	}
	for k, v := range override {
		if v == nil {
			delete(raw, k)
			continue
		}
		raw[k] = v
	}
	cfg, err := douyin.Spec.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	var svc sdk.HostService = e.host
	if e.hostService != nil {
		svc = e.hostService
	}
	c, err := douyin.New(t.Context(), cfg, sdk.NewHost(zerolog.Nop(), svc, e.clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c.(*douyin.Connector)
}

// recorder is an sdk.Emitter that keeps what it is given, in order.
type recorder struct {
	items []item
}

type item struct {
	rec *sdk.Record
	cp  []byte
}

func (r *recorder) Emit(_ context.Context, rec sdk.Record) error {
	r.items = append(r.items, item{rec: &rec})
	return nil
}

func (r *recorder) Checkpoint(_ context.Context, c []byte) error {
	r.items = append(r.items, item{cp: c})
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

func (r *recorder) last() []byte {
	for i := len(r.items) - 1; i >= 0; i-- {
		if r.items[i].cp != nil {
			return r.items[i].cp
		}
	}
	return nil
}

func read(t *testing.T, c *douyin.Connector, mode sdk.Mode, cp []byte) *recorder {
	t.Helper()
	var r recorder
	if err := c.Read(t.Context(), sdk.ReadRequest{Stream: douyin.StreamOrders, Mode: mode, Checkpoint: cp}, &r); err != nil {
		t.Fatalf("read: %v", err)
	}
	return &r
}

func shopScope(c sandbox.Config) string { return strconv.FormatInt(c.ShopID, 10) }

func firstMember(t *testing.T, sb *sandbox.Server) sandbox.Member {
	t.Helper()
	for _, m := range sb.Buyers() {
		if m.Active {
			return m
		}
	}
	t.Fatal("the sandbox has no shop member")
	return sandbox.Member{}
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, err
}
