package wechat_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/wechat"
	"github.com/channelhub/channelhub/connectors/wechat/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

const hookURL = "https://hub.example/webhooks/brand-a/wechat-oa"

// pushEnv is a sandbox whose clock the test moves, and connectors whose
// host clock follows it.
type pushEnv struct {
	sb  *sandbox.Server
	url string
	now time.Time
}

func newPushEnv(t *testing.T, cfg sandbox.Config) *pushEnv {
	t.Helper()
	e := &pushEnv{now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	cfg.Now = func() time.Time { return e.now }
	e.sb = sandbox.New(cfg)
	srv := httptest.NewServer(e.sb)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

func (e *pushEnv) connector(t *testing.T, override map[string]any, skew time.Duration) sdk.WebhookHandler {
	t.Helper()
	cfg := e.sb.Config()
	raw := map[string]any{"app_id": cfg.AppID, "app_secret": cfg.AppSecret, "open_platform_id": sandboxdata.OpenPlatformID,
		"api_base": e.url, "token": cfg.PushToken, "encoding_aes_key": cfg.EncodingAESKey}
	for k, v := range override {
		if v == nil {
			delete(raw, k)
			continue
		}
		raw[k] = v
	}
	c, err := wechat.Spec.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	host := sdk.NewHost(zerolog.Nop(), conformance.NewFakeHost(), func() time.Time { return e.now.Add(skew) })
	conn, err := wechat.New(t.Context(), c, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn.(sdk.WebhookHandler)
}

func asWebhook(t *testing.T, r *http.Request) sdk.WebhookRequest {
	t.Helper()
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = b
	}
	return sdk.WebhookRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header, Body: body}
}

func (e *pushEnv) push(t *testing.T, p sandbox.Push) sdk.WebhookRequest {
	t.Helper()
	r, err := e.sb.EventRequest(t.Context(), hookURL, p)
	if err != nil {
		t.Fatal(err)
	}
	return asWebhook(t, r)
}

var modes = map[string]sandbox.PushMode{"plain": sandbox.PlainMode, "compatible": sandbox.CompatibleMode, "safe": sandbox.SafeMode}

func wantReply(mode sandbox.PushMode) string {
	if mode == sandbox.PlainMode {
		return wechat.PlainReply
	}
	return ""
}

func TestPushURLVerification(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t, sandbox.Config{Members: 20})
	c := e.connector(t, nil, 0)
	r, echo, err := e.sb.VerifyURLRequest(t.Context(), hookURL)
	if err != nil {
		t.Fatal(err)
	}
	req := asWebhook(t, r)
	resp, err := c.HandleWebhook(t.Context(), req)
	if err != nil || resp.Status != http.StatusOK || string(resp.Body) != echo {
		t.Fatalf("verification = %d %q %v, want %q", resp.Status, resp.Body, err, echo)
	}
	q, _ := url.ParseQuery(req.Query)
	q.Set("signature", strings.Repeat("f", 40))
	req.Query = q.Encode()
	if _, err := c.HandleWebhook(t.Context(), req); !errors.Is(err, sdk.ErrAuth) {
		t.Fatalf("forged verification: %v", err)
	}
}

func TestSubscribeAndUnsubscribeInEveryMode(t *testing.T) {
	t.Parallel()
	for name, mode := range modes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newPushEnv(t, sandbox.Config{Members: 50})
			c := e.connector(t, nil, 0)
			openid := e.sb.AddFollowers(1)[0]
			resp, err := c.HandleWebhook(t.Context(), e.push(t, sandbox.Push{OpenID: openid, Event: "subscribe", Mode: mode}))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != http.StatusOK || string(resp.Body) != wantReply(mode) || len(resp.Records) != 1 {
				t.Fatalf("subscribe: %d %q %+v", resp.Status, resp.Body, resp.Records)
			}
			rec := resp.Records[0]
			if rec.Stream != wechat.StreamFollowers || rec.ID != openid || rec.Deleted || !rec.Member.Subscribed || len(rec.Member.Identities) != 2 ||
				rec.Member.Identities[1].Type != mapping.IDWechatUnionID {
				t.Fatalf("subscribe record %+v", rec)
			}
			e.sb.Unfollow(openid)
			resp, err = c.HandleWebhook(t.Context(), e.push(t, sandbox.Push{OpenID: openid, Event: "unsubscribe", Mode: mode}))
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Records) != 1 || !resp.Records[0].Deleted || resp.Records[0].ID != openid || resp.Records[0].Member.Subscribed {
				t.Fatalf("unsubscribe: %+v", resp.Records)
			}
			// Other events are acknowledged with nothing.
			resp, err = c.HandleWebhook(t.Context(), e.push(t, sandbox.Push{OpenID: e.sb.OpenIDs()[0], Event: "SCAN", Mode: mode}))
			if err != nil || len(resp.Records) != 0 || string(resp.Body) != wantReply(mode) {
				t.Fatalf("SCAN: %+v %v", resp, err)
			}
		})
	}
}

func TestReplayedPushIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t, sandbox.Config{Members: 50})
	c := e.connector(t, nil, 0)
	req := e.push(t, sandbox.Push{OpenID: e.sb.OpenIDs()[2], Event: "subscribe", Mode: sandbox.SafeMode})
	first, err := c.HandleWebhook(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(10 * time.Second) // WeChat redelivers after 5 s
	again, err := c.HandleWebhook(t.Context(), req)
	if err != nil || len(again.Records) != 1 || again.Records[0].ID != first.Records[0].ID {
		t.Fatalf("redelivery: %+v, %v", again.Records, err)
	}
	e.now = e.now.Add(wechat.MaxPushSkew)
	if _, err := c.HandleWebhook(t.Context(), req); !errors.Is(err, sdk.ErrAuth) || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("late replay: %v", err)
	}
}

func TestStalePushes(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t, sandbox.Config{Members: 20})
	openid := e.sb.OpenIDs()[0]
	for name, mode := range modes {
		req := e.push(t, sandbox.Push{OpenID: openid, Event: "unsubscribe", Mode: mode, At: e.now.Add(-6 * time.Minute)})
		if _, err := e.connector(t, nil, 0).HandleWebhook(t.Context(), req); !errors.Is(err, sdk.ErrAuth) {
			t.Errorf("%s, 6 min old: %v", name, err)
		}
		req = e.push(t, sandbox.Push{OpenID: openid, Event: "unsubscribe", Mode: mode})
		if _, err := e.connector(t, nil, -6*time.Minute).HandleWebhook(t.Context(), req); !errors.Is(err, sdk.ErrAuth) {
			t.Errorf("%s, 6 min ahead: %v", name, err)
		}
	}
}

func TestForgedPushes(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t, sandbox.Config{Members: 20})
	c := e.connector(t, nil, 0)
	openid := e.sb.OpenIDs()[0]
	before := e.sb.Requests("/cgi-bin/user/info")
	tamper := func(req sdk.WebhookRequest, key, value string) sdk.WebhookRequest {
		q, _ := url.ParseQuery(req.Query)
		q.Set(key, value)
		req.Query = q.Encode()
		return req
	}
	plain := e.push(t, sandbox.Push{OpenID: openid, Event: "subscribe", Mode: sandbox.PlainMode})
	safe := e.push(t, sandbox.Push{OpenID: openid, Event: "subscribe", Mode: sandbox.SafeMode})
	cases := map[string]sdk.WebhookRequest{
		"plain bad signature":    tamper(plain, "signature", strings.Repeat("0", 40)),
		"plain other nonce":      tamper(plain, "nonce", "7"),
		"safe bad msg_signature": tamper(safe, "msg_signature", strings.Repeat("0", 40)),
		"safe bad signature":     tamper(safe, "signature", strings.Repeat("0", 40)),
		"safe other timestamp":   tamper(safe, "timestamp", "1772359201"),
	}
	changed := safe
	changed.Body = []byte(strings.Replace(string(safe.Body), "<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA", 1))
	cases["safe changed payload"] = changed
	other := newPushEnv(t, sandbox.Config{Members: 20, PushToken: "another"})
	cases["other token"] = other.push(t, sandbox.Push{OpenID: openid, Event: "subscribe", Mode: sandbox.SafeMode})
	for name, req := range cases {
		if _, err := c.HandleWebhook(t.Context(), req); !errors.Is(err, sdk.ErrAuth) {
			t.Errorf("%s: %v, want an auth error", name, err)
		}
	}
	// Another app with the same token and key: refused after decryption.
	app := newPushEnv(t, sandbox.Config{Members: 20, AppID: "wxanotherapp0001"})
	if _, err := c.HandleWebhook(t.Context(), app.push(t, sandbox.Push{OpenID: openid, Event: "subscribe", Mode: sandbox.SafeMode})); !errors.Is(err, sdk.ErrAuth) || !strings.Contains(err.Error(), "another appid") {
		t.Fatalf("other app: %v", err)
	}
	// Same token, another key: the key is named.
	key := newPushEnv(t, sandbox.Config{Members: 20, EncodingAESKey: strings.Repeat("B", 43)})
	if _, err := c.HandleWebhook(t.Context(), key.push(t, sandbox.Push{OpenID: openid, Event: "subscribe", Mode: sandbox.SafeMode})); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("other key: %v", err)
	}
	if e.sb.Requests("/cgi-bin/user/info") != before {
		t.Fatal("a rejected push reached the API")
	}
}

func TestMalformedPushes(t *testing.T) {
	t.Parallel()
	e := newPushEnv(t, sandbox.Config{Members: 20})
	c := e.connector(t, nil, 0)
	plain := e.push(t, sandbox.Push{OpenID: e.sb.OpenIDs()[0], Event: "subscribe"})
	safe := e.push(t, sandbox.Push{OpenID: e.sb.OpenIDs()[0], Event: "subscribe", Mode: sandbox.SafeMode})
	q, _ := url.ParseQuery(safe.Query)
	q.Del("msg_signature")
	cases := map[string]sdk.WebhookRequest{
		"no query":             {Method: http.MethodPost, Body: plain.Body},
		"bad query":            {Method: http.MethodPost, Query: "%zz"},
		"get without echostr":  {Method: http.MethodGet, Query: plain.Query},
		"delete":               {Method: http.MethodDelete, Query: plain.Query},
		"safe no envelope":     {Method: http.MethodPost, Query: safe.Query, Body: []byte("<xml></xml>")},
		"safe no msgsignature": {Method: http.MethodPost, Query: q.Encode(), Body: safe.Body},
	}
	for name, req := range cases {
		if _, err := c.HandleWebhook(t.Context(), req); err == nil || errors.Is(err, sdk.ErrUnavailable) {
			t.Errorf("%s: %v, want a non-retryable error", name, err)
		}
	}
	// Signed but unparsable: a bad record, acknowledged.
	bad := plain
	bad.Body = []byte("not xml")
	resp, err := c.HandleWebhook(t.Context(), bad)
	if err != nil || len(resp.Records) != 1 || resp.Records[0].Bad == nil || string(resp.Body) != wechat.PlainReply {
		t.Fatalf("unparsable: %+v %v", resp, err)
	}
	// No token: no pushes; encrypted pushes without encoding_aes_key: named.
	if _, err := e.connector(t, map[string]any{"token": nil, "encoding_aes_key": nil}, 0).HandleWebhook(t.Context(), plain); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("no token: %v", err)
	}
	plainOnly := e.connector(t, map[string]any{"encoding_aes_key": nil}, 0)
	if _, err := plainOnly.HandleWebhook(t.Context(), safe); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("safe push without key: %v", err)
	}
	if resp, err := plainOnly.HandleWebhook(t.Context(), plain); err != nil || len(resp.Records) != 1 {
		t.Fatalf("plain push without key: %+v %v", resp, err)
	}
}

func TestPushConfigNeedsTokenWithKey(t *testing.T) {
	t.Parallel()
	cfg, err := wechat.Spec.ParseConfig(map[string]any{"app_id": "wx1", "app_secret": "s", "open_platform_id": "o", "encoding_aes_key": strings.Repeat("A", 43)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wechat.New(t.Context(), cfg, nil); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("key without token: %v", err)
	}
	cfg, _ = wechat.Spec.ParseConfig(map[string]any{"app_id": "wx1", "app_secret": "s", "open_platform_id": "o", "token": "t", "encoding_aes_key": "short"})
	if _, err := wechat.New(t.Context(), cfg, nil); !errors.Is(err, sdk.ErrInvalidConfig) || strings.Contains(err.Error(), "short") {
		t.Fatalf("short key: %v", err)
	}
}
