package miniprogram_test

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/connectors/miniprogram"
	"github.com/channelhub/channelhub/connectors/miniprogram/sandbox"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

// clock is a settable clock shared by the sandbox, the brand backend and
// the connector.
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

// env is a sandbox behind an HTTP server, its brand backend, and a clock.
type env struct {
	sb    *sandbox.Server
	srv   *httptest.Server
	brand *sandbox.Brand
	clock *clock
	host  *conformance.FakeHost
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := &clock{t: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	sb := sandbox.New(sandbox.Config{Members: 300, Now: c.Now})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv, brand: sb.Brand(), clock: c, host: conformance.NewFakeHost()}
}

func (e *env) config(over map[string]any) map[string]any {
	cfg := e.sb.ConnectionConfig(e.srv.URL)
	maps.Copy(cfg, over)
	return cfg
}

// connector builds a connector on the env's clock, with over laid on the
// sandbox's connection config.
func (e *env) connector(t *testing.T, over map[string]any) *miniprogram.Connector {
	t.Helper()
	cfg, err := miniprogram.Spec.ParseConfig(e.config(over))
	if err != nil {
		t.Fatal(err)
	}
	c, err := miniprogram.New(t.Context(), cfg, sdk.NewHost(zerolog.Nop(), e.host, e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(t.Context()) })
	return c.(*miniprogram.Connector)
}

// user returns the i-th mini-program user.
func (e *env) user(t *testing.T, i int) sandbox.User {
	t.Helper()
	us := e.sb.Users()
	if len(us) <= i {
		t.Fatalf("the sandbox has %d users", len(us))
	}
	return us[i]
}

// signed turns an event into the webhook request the hub hands the plugin,
// signed by b now.
func (e *env) signed(t *testing.T, b *sandbox.Brand, body []byte) sdk.WebhookRequest {
	t.Helper()
	return e.signedAt(t, b, body, e.clock.Now())
}

func (e *env) signedAt(t *testing.T, b *sandbox.Brand, body []byte, at time.Time) sdk.WebhookRequest {
	t.Helper()
	r, err := b.RequestAt(t.Context(), "https://hub.example/webhooks/brand-a/mini", body, at)
	if err != nil {
		t.Fatal(err)
	}
	return webhook(t, r)
}

func webhook(t *testing.T, r *http.Request) sdk.WebhookRequest {
	t.Helper()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return sdk.WebhookRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header, Body: body}
}

// send signs and hands an event to the connector.
func (e *env) send(t *testing.T, c *miniprogram.Connector, ev sandbox.Event) (sdk.WebhookResponse, miniprogram.Reply) {
	t.Helper()
	return handle(t, c, e.signed(t, e.brand, e.brand.Body(ev)))
}

func handle(t *testing.T, c *miniprogram.Connector, req sdk.WebhookRequest) (sdk.WebhookResponse, miniprogram.Reply) {
	t.Helper()
	resp, err := c.HandleWebhook(t.Context(), req)
	if err != nil {
		t.Fatalf("HandleWebhook: %v", err)
	}
	return resp, reply(t, resp)
}

func reply(t *testing.T, resp sdk.WebhookResponse) miniprogram.Reply {
	t.Helper()
	var r miniprogram.Reply
	if err := json.Unmarshal(resp.Body, &r); err != nil {
		t.Fatalf("reply %d is not JSON: %q", resp.Status, resp.Body)
	}
	return r
}

// mustAccept checks an event was accepted with n records.
func mustAccept(t *testing.T, resp sdk.WebhookResponse, r miniprogram.Reply, n int) {
	t.Helper()
	if resp.Status != http.StatusOK || !r.OK || r.Records != n || len(resp.Records) != n {
		t.Fatalf("status %d reply %+v with %d records, want 200 and %d records", resp.Status, r, len(resp.Records), n)
	}
}

// mustRefuse checks an event was refused with status, error code and field,
// and made no records.
func mustRefuse(t *testing.T, resp sdk.WebhookResponse, r miniprogram.Reply, status int, code, field string) {
	t.Helper()
	if resp.Status != status || r.OK || r.Error != code || (field != "" && r.Field != field) {
		t.Fatalf("status %d reply %+v, want %d %s on %q", resp.Status, r, status, code, field)
	}
	if len(resp.Records) != 0 {
		t.Fatalf("a refused event made %d records", len(resp.Records))
	}
}

func faultCode(code int) sandbox.Fault {
	return sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: code}
}
