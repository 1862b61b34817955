package wecom_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/wecom"
	"github.com/channelhub/channelhub/connectors/wecom/sandbox"
	"github.com/channelhub/channelhub/sdk"
)

const hookURL = "https://hub.example/webhooks/brand-a/wecom"

// webhook turns a request the sandbox built into what the hub hands the
// plugin.
func webhook(t *testing.T, r *http.Request) sdk.WebhookRequest {
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

func (e *env) callback(t *testing.T, ev sandbox.Event) sdk.WebhookRequest {
	t.Helper()
	r, err := e.sb.CallbackRequest(t.Context(), hookURL, ev)
	if err != nil {
		t.Fatal(err)
	}
	return webhook(t, r)
}

func accepted(t *testing.T, c *wecom.Connector, req sdk.WebhookRequest) []sdk.Record {
	t.Helper()
	resp, err := c.HandleWebhook(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK || string(resp.Body) != wecom.Reply {
		t.Fatalf("reply %d %q", resp.Status, resp.Body)
	}
	return resp.Records
}

func TestURLVerification(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 50})
	c := e.connector(t, nil, 0)
	r, echo, err := e.sb.VerifyURLRequest(t.Context(), hookURL)
	if err != nil {
		t.Fatal(err)
	}
	req := webhook(t, r)
	resp, err := c.HandleWebhook(t.Context(), req)
	if err != nil || resp.Status != http.StatusOK || string(resp.Body) != echo || len(resp.Records) != 0 {
		t.Fatalf("verification = %d %q %v, want %q", resp.Status, resp.Body, err, echo)
	}
	// A tampered echostr fails on the signature.
	q, _ := url.ParseQuery(req.Query)
	q.Set("echostr", "A"+q.Get("echostr")[1:])
	req.Query = q.Encode()
	if _, err := c.HandleWebhook(t.Context(), req); !errors.Is(err, sdk.ErrAuth) {
		t.Fatalf("tampered echostr: %v", err)
	}
}

func TestCallbacksBecomeRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 300})
	c := e.connector(t, nil, 0)
	staff := e.sb.Staff()[0]

	ev, err := e.sb.AddCustomer(staff)
	if err != nil {
		t.Fatal(err)
	}
	recs := accepted(t, c, e.callback(t, ev))
	id := wecom.RecordID(ev.ExternalUserID, staff)
	if len(recs) != 1 || recs[0].ID != id || recs[0].Deleted || recs[0].Stream != wecom.StreamCustomers || len(recs[0].Member.Identities) != 2 {
		t.Fatalf("add: %+v", recs)
	}

	// A second staff member: the fetch returns both relations.
	ev2, err := e.sb.AddFollow(e.sb.Staff()[1], ev.ExternalUserID)
	if err != nil {
		t.Fatal(err)
	}
	if recs := accepted(t, c, e.callback(t, ev2)); len(recs) != 2 {
		t.Fatalf("second follow: %d records", len(recs))
	}

	ev3, err := e.sb.EditRemark(staff, ev.ExternalUserID, "老客户")
	if err != nil {
		t.Fatal(err)
	}
	recs = accepted(t, c, e.callback(t, ev3))
	found := false
	for _, r := range recs {
		if r.ID == id && r.Member.Attributes["remark"] == "老客户" {
			found = true
		}
	}
	if !found {
		t.Fatalf("edit did not bring the new remark: %+v", recs)
	}

	for _, byCustomer := range []bool{false, true} {
		u := e.sb.FollowUsers(ev.ExternalUserID)[0]
		del, err := e.sb.RemoveCustomer(u, ev.ExternalUserID, byCustomer)
		if err != nil {
			t.Fatal(err)
		}
		recs = accepted(t, c, e.callback(t, del))
		if len(recs) != 1 || !recs[0].Deleted || recs[0].ID != wecom.RecordID(ev.ExternalUserID, u) || recs[0].Member.Subscribed {
			t.Fatalf("%s: %+v", del.ChangeType, recs)
		}
	}

	// An add whose customer is gone by the time of the fetch ends the relation.
	ev4, _ := e.sb.AddCustomer(staff)
	if _, err := e.sb.RemoveCustomer(staff, ev4.ExternalUserID, false); err != nil {
		t.Fatal(err)
	}
	if recs := accepted(t, c, e.callback(t, ev4)); len(recs) != 1 || !recs[0].Deleted {
		t.Fatalf("add of a customer already gone: %+v", recs)
	}

	// Events the connector does not map are acknowledged.
	for _, other := range []sandbox.Event{
		{ChangeType: sandbox.ChangeTransferKO, UserID: staff, ExternalUserID: ev.ExternalUserID, FailReason: "customer_refused"},
		{Event: "change_external_tag", ChangeType: "create"},
	} {
		if recs := accepted(t, c, e.callback(t, other)); len(recs) != 0 {
			t.Fatalf("%s/%s: %+v", other.Event, other.ChangeType, recs)
		}
	}
}

func TestReplayedCallbackIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 100})
	c := e.connector(t, nil, 0)
	ev, _ := e.sb.AddCustomer(e.sb.Staff()[0])
	req := e.callback(t, ev)
	first := accepted(t, c, req)
	// WeCom's own retries resend the same message within seconds: handled
	// again, with the same records (the hub upserts them).
	e.now = e.now.Add(10 * time.Second)
	again := accepted(t, c, req)
	if len(first) != 1 || len(again) != 1 || first[0].ID != again[0].ID || first[0].Member.Attributes["remark"] != again[0].Member.Attributes["remark"] {
		t.Fatalf("replay: %+v vs %+v", first, again)
	}
	// A replay after the skew window is refused.
	e.now = e.now.Add(wecom.MaxCallbackSkew)
	if _, err := c.HandleWebhook(t.Context(), req); !errors.Is(err, sdk.ErrAuth) || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("late replay: %v", err)
	}
}

func TestStaleAndFutureTimestamps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 100})
	ev, _ := e.sb.AddCustomer(e.sb.Staff()[0])
	req := e.callback(t, ev)
	for _, skew := range []time.Duration{6 * time.Minute, -6 * time.Minute} {
		c := e.connector(t, nil, skew)
		if _, err := c.HandleWebhook(t.Context(), req); !errors.Is(err, sdk.ErrAuth) {
			t.Fatalf("clock %s off: %v", skew, err)
		}
	}
	if recs := accepted(t, e.connector(t, nil, 4*time.Minute), req); len(recs) != 1 {
		t.Fatalf("within skew: %d records", len(recs))
	}
}

func TestForgedCallbacksAreRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 100})
	c := e.connector(t, nil, 0)
	ev, _ := e.sb.AddCustomer(e.sb.Staff()[0])
	good := e.callback(t, ev)
	before := e.sb.Requests("/cgi-bin/externalcontact/get")

	forge := func(change func(q url.Values, body *[]byte)) sdk.WebhookRequest {
		r := good
		q, _ := url.ParseQuery(good.Query)
		body := append([]byte(nil), good.Body...)
		change(q, &body)
		r.Query, r.Body = q.Encode(), body
		return r
	}
	cases := map[string]sdk.WebhookRequest{
		"bad signature":   forge(func(q url.Values, _ *[]byte) { q.Set("msg_signature", strings.Repeat("0", 40)) }),
		"other nonce":     forge(func(q url.Values, _ *[]byte) { q.Set("nonce", "1") }),
		"other timestamp": forge(func(q url.Values, _ *[]byte) { q.Set("timestamp", "1772359201") }),
		"changed payload": forge(func(_ url.Values, b *[]byte) {
			*b = []byte(strings.Replace(string(*b), "<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA", 1))
		}),
	}
	for name, req := range cases {
		if _, err := c.HandleWebhook(t.Context(), req); !errors.Is(err, sdk.ErrAuth) {
			t.Errorf("%s: %v, want an auth error", name, err)
		}
	}
	// Signed with another token: the same.
	other := newEnv(t, sandbox.Config{Members: 100, Token: "another-token"})
	ev2, _ := other.sb.AddCustomer(other.sb.Staff()[0])
	if _, err := c.HandleWebhook(t.Context(), other.callback(t, ev2)); !errors.Is(err, sdk.ErrAuth) {
		t.Fatalf("other token: %v", err)
	}
	// Same token and key, another corp: refused after decryption.
	corp := newEnv(t, sandbox.Config{Members: 100, CorpID: "wwanothercorp0001"})
	ev3, _ := corp.sb.AddCustomer(corp.sb.Staff()[0])
	if _, err := c.HandleWebhook(t.Context(), corp.callback(t, ev3)); !errors.Is(err, sdk.ErrAuth) || !strings.Contains(err.Error(), "another corp") {
		t.Fatalf("other corp: %v", err)
	}
	// Same token, another key: a config problem, named.
	key := newEnv(t, sandbox.Config{Members: 100, EncodingAESKey: strings.Repeat("B", 43)})
	ev4, _ := key.sb.AddCustomer(key.sb.Staff()[0])
	if _, err := c.HandleWebhook(t.Context(), key.callback(t, ev4)); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("other key: %v", err)
	}
	if after := e.sb.Requests("/cgi-bin/externalcontact/get"); after != before {
		t.Fatal("a rejected callback reached the API")
	}
}

func TestMalformedCallbacks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 100})
	c := e.connector(t, nil, 0)
	ev, _ := e.sb.AddCustomer(e.sb.Staff()[0])
	good := e.callback(t, ev)
	cases := map[string]sdk.WebhookRequest{
		"no query":    {Method: http.MethodPost, Body: good.Body},
		"bad query":   {Method: http.MethodPost, Query: "%zz", Body: good.Body},
		"no body":     {Method: http.MethodPost, Query: good.Query},
		"not xml":     {Method: http.MethodPost, Query: good.Query, Body: []byte("{}")},
		"no Encrypt":  {Method: http.MethodPost, Query: good.Query, Body: []byte("<xml><ToUserName>x</ToUserName></xml>")},
		"get no echo": {Method: http.MethodGet, Query: good.Query},
		"put":         {Method: http.MethodPut, Query: good.Query, Body: good.Body},
	}
	for name, req := range cases {
		_, err := c.HandleWebhook(t.Context(), req)
		if err == nil || errors.Is(err, sdk.ErrUnavailable) || errors.Is(err, sdk.ErrThrottled) {
			t.Errorf("%s: %v, want a non-retryable error", name, err)
		}
	}
	// Correctly sealed garbage is a bad record, acknowledged.
	sealed, err := e.sb.Seal([]byte("not an event"), e.now)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"msg_signature": {sealed.MsgSignature}, "timestamp": {sealed.Timestamp}, "nonce": {sealed.Nonce}}
	recs := accepted(t, c, sdk.WebhookRequest{Method: http.MethodPost, Query: q.Encode(), Body: sealed.Body})
	if len(recs) != 1 || recs[0].Bad == nil {
		t.Fatalf("garbage event: %+v", recs)
	}
	// Without token and key the connection takes no callbacks.
	bare := e.connector(t, map[string]any{"token": nil, "encoding_aes_key": nil}, 0)
	if _, err := bare.HandleWebhook(t.Context(), good); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("no callback settings: %v", err)
	}
}

func TestPushRetriesUntilAccepted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 50, CallbackTimeout: time.Second})
	c := e.connector(t, nil, 0)
	calls := 0
	srv := newHookServer(t, func(req sdk.WebhookRequest) (int, string) {
		calls++
		if calls < 3 {
			return http.StatusServiceUnavailable, "later"
		}
		resp, err := c.HandleWebhook(t.Context(), req)
		if err != nil {
			return http.StatusBadRequest, err.Error()
		}
		return resp.Status, string(resp.Body)
	})
	ev, _ := e.sb.AddCustomer(e.sb.Staff()[0])
	body, err := e.sb.Push(t.Context(), srv.Client(), srv.URL+"/hook", ev)
	if err != nil || body != wecom.Reply || calls != 3 {
		t.Fatalf("push = %q, %v after %d calls", body, err, calls)
	}
}
