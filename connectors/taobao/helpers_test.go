package taobao_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/connectors/taobao"
	"github.com/channelhub/channelhub/connectors/taobao/sandbox"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

var t0 = time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)

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

// env is a sandbox on a settable clock behind an httptest server (through an
// optional wrapping handler), with a connector config pointing at it.
type env struct {
	clk  *clock
	sb   *sandbox.Server
	srv  *httptest.Server
	host *conformance.FakeHost
	raw  map[string]any
}

func newEnv(t *testing.T, cfg sandbox.Config, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	e := &env{clk: &clock{t: t0}, host: conformance.NewFakeHost()}
	e.host.Spec = &taobao.Spec // patches checked as the hub does
	if cfg.Orders == 0 {
		cfg.Orders = 300
	}
	if cfg.Members == 0 {
		cfg.Members = 300
	}
	cfg.Now = e.clk.Now
	e.sb = sandbox.New(cfg)
	var h http.Handler = e.sb
	if wrap != nil {
		h = wrap(h)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	c := e.sb.Config()
	e.raw = map[string]any{
		"app_key": c.AppKey, "app_secret": c.AppSecret, "session": c.Session, "shop": c.SellerID,
		"brand": c.Brand, "api_base": e.srv.URL, "lag": "0s", "page_size": 50,
	}
	return e
}

func (e *env) connector(t *testing.T, override map[string]any) *taobao.Connector {
	t.Helper()
	return e.connectorWith(t, override, e.host)
}

// connectorWith is connector with host as the hub's services.
func (e *env) connectorWith(t *testing.T, override map[string]any, host sdk.HostService) *taobao.Connector {
	t.Helper()
	raw := map[string]any{}
	for k, v := range e.raw {
		raw[k] = v
	}
	for k, v := range override {
		raw[k] = v
	}
	cfg, err := taobao.Spec.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	c, err := taobao.New(context.Background(), cfg, sdk.NewHost(zerolog.Nop(), host, e.clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	return c.(*taobao.Connector)
}

type collector struct {
	recs []sdk.Record
	cps  [][]byte
}

func (c *collector) Emit(_ context.Context, r sdk.Record) error {
	c.recs = append(c.recs, r)
	return nil
}

func (c *collector) Checkpoint(_ context.Context, cp []byte) error {
	c.cps = append(c.cps, cp)
	return nil
}

func (c *collector) Progress(context.Context, int64, int64) error { return nil }

func (c *collector) last() []byte {
	if len(c.cps) == 0 {
		return nil
	}
	return c.cps[len(c.cps)-1]
}

func (c *collector) ids() []string {
	var out []string
	for _, r := range c.recs {
		if r.Bad == nil {
			out = append(out, r.ID)
		}
	}
	return out
}

func read(t *testing.T, k *taobao.Connector, stream string, mode sdk.Mode, cp []byte) (*collector, error) {
	t.Helper()
	c := &collector{}
	err := k.Read(context.Background(), sdk.ReadRequest{Stream: stream, Mode: mode, Checkpoint: cp}, c)
	return c, err
}
