package sms_test

import (
	"context"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/channelhub/channelhub/connectors/sms"
	"github.com/channelhub/channelhub/connectors/sms/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// env is a sandbox on its own listener and a config pointing at it.
type env struct {
	sb  *sandbox.Server
	cfg map[string]any
}

func newEnv(t *testing.T, sc sandbox.Config) *env {
	t.Helper()
	sb := sandbox.New(sc)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := sb.Config()
	cfg := map[string]any{
		"provider": string(c.Provider), "access_key_id": c.AccessKeyID, "access_key_secret": c.AccessKeySecret,
		"sign_name": c.SignNames[0], "template": c.Templates[0].ID,
		"endpoint": strings.TrimPrefix(srv.URL, "http://"), "scheme": "http", "callback_token": "cb-token-1234",
	}
	if c.Provider == sandbox.Tencent {
		cfg["sdk_app_id"] = c.SdkAppID
	}
	return &env{sb: sb, cfg: cfg}
}

// with returns the config with fields laid over.
func (e *env) with(kv map[string]any) map[string]any {
	c := maps.Clone(e.cfg)
	maps.Copy(c, kv)
	return c
}

func connect(t *testing.T, raw map[string]any) *sms.Connector {
	t.Helper()
	cfg, err := sms.Spec.ParseConfig(raw)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	c, err := sms.New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	return c.(*sms.Connector)
}

func send(key, phone string, params map[string]string) sdk.Action {
	if params == nil {
		params = map[string]string{}
	}
	return sdk.Action{Key: key, Type: sms.ActionSend, Target: []mapping.Identity{{Type: mapping.IDPhone, Value: phone}}, Params: params}
}

func write1(t *testing.T, c *sms.Connector, a sdk.Action) sdk.ActionResult {
	t.Helper()
	res := c.Write(t.Context(), []sdk.Action{a})
	if len(res) != 1 || res[0].Key != a.Key {
		t.Fatalf("write returned %+v", res)
	}
	return res[0]
}

// collect gathers what a read emits.
type collect struct {
	records []sdk.Record
	cps     [][]byte
}

func (c *collect) Emit(_ context.Context, r sdk.Record) error {
	c.records = append(c.records, r)
	return nil
}

func (c *collect) Checkpoint(_ context.Context, cp []byte) error {
	c.cps = append(c.cps, cp)
	return nil
}

func (c *collect) Progress(context.Context, int64, int64) error { return nil }
