package douyin_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/channelhub/channelhub/connectors/douyin"
	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

// webhook turns a request the sandbox built into what the hub hands the
// plugin.
func webhook(t *testing.T, r *http.Request) sdk.WebhookRequest {
	t.Helper()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return sdk.WebhookRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header, Body: body}
}

func (e *env) push(t *testing.T, msgs ...doudian.PushMessage) sdk.WebhookRequest {
	t.Helper()
	r, err := e.sb.PushRequest(t.Context(), "https://hub.example/webhooks/brand-a/douyin", msgs...)
	if err != nil {
		t.Fatal(err)
	}
	return webhook(t, r)
}

func (e *env) message(t *testing.T, orderID string) doudian.PushMessage {
	t.Helper()
	m, err := e.sb.OrderMessage(orderID)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPushFetchesTheFullOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	c := e.connector(t, nil)
	paid, shipped := e.sb.OrderID(1), e.sb.OrderID(4)
	req := e.push(t, e.message(t, paid), e.message(t, shipped), e.message(t, paid))
	resp, err := c.HandleWebhook(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK || string(resp.Body) != string(doudian.PushOK()) {
		t.Fatalf("reply %d %s", resp.Status, resp.Body)
	}
	if len(resp.Records) != 2 {
		t.Fatalf("%d records, want the 2 orders once each", len(resp.Records))
	}
	for i, id := range []string{paid, shipped} {
		rec := resp.Records[i]
		so, _ := e.sb.Order(id)
		if rec.Stream != douyin.StreamOrders || rec.ID != id || rec.Order == nil || rec.Order.TotalFen != so.OrderAmount || len(rec.Order.Items) != len(so.SkuOrderList) {
			t.Fatalf("record %d: %+v", i, rec)
		}
		if len(rec.Order.Buyer) == 0 || rec.Order.Buyer[0].Value != so.DoudianOpenID {
			t.Fatalf("record %d buyer %v", i, rec.Order.Buyer)
		}
	}
}

func TestForgedPushIsRejectedBeforeParsing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 20, Members: 100})
	c := e.connector(t, nil)
	good := e.push(t, e.message(t, e.sb.OrderID(2)))
	forge := func(f func(*sdk.WebhookRequest)) sdk.WebhookRequest {
		r := good
		r.Header = good.Header.Clone()
		r.Body = append([]byte(nil), good.Body...)
		f(&r)
		return r
	}
	tests := []struct {
		name string
		req  sdk.WebhookRequest
	}{
		{"forged sign", forge(func(r *sdk.WebhookRequest) {
			r.Header.Set(doudian.HeaderEventSign, doudian.EventSign(e.sb.Config().AppKey, "not-the-secret", r.Body))
		})},
		{"body changed after signing", forge(func(r *sdk.WebhookRequest) {
			r.Body = []byte(strings.Replace(string(r.Body), e.sb.OrderID(2), e.sb.OrderID(3), 1))
		})},
		{"no sign", forge(func(r *sdk.WebhookRequest) { r.Header.Del(doudian.HeaderEventSign) })},
		{"garbage sign", forge(func(r *sdk.WebhookRequest) { r.Header.Set(doudian.HeaderEventSign, "xyz") })},
		{"unsigned garbage body", forge(func(r *sdk.WebhookRequest) { r.Body = []byte("not json") })},
		{"another app", forge(func(r *sdk.WebhookRequest) { r.Header.Set(doudian.HeaderAppID, "7000000000000000999") })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.sb.Requests()
			resp, err := c.HandleWebhook(t.Context(), tt.req)
			if !errors.Is(err, sdk.ErrAuth) {
				t.Fatalf("error %v, want an auth error", err)
			}
			if len(resp.Records) != 0 {
				t.Fatalf("a rejected push emitted %d records", len(resp.Records))
			}
			if e.sb.Requests() != before {
				t.Fatal("a rejected push called the platform")
			}
			if strings.Contains(err.Error(), e.sb.Config().AppSecret) {
				t.Fatal("the error shows the secret")
			}
		})
	}
	if resp, err := c.HandleWebhook(t.Context(), good); err != nil || len(resp.Records) != 1 {
		t.Fatalf("the genuine push: %v, %d records", err, len(resp.Records))
	}
}

func TestPushOtherMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 20, Members: 100})
	c := e.connector(t, nil)
	otherShop, _ := json.Marshal(doudian.TradeEvent{PID: 6900100000000000002, ShopID: 42, OrderStatus: 2})
	msgs := []doudian.PushMessage{
		{Tag: doudian.TagVerify, MsgID: "m0", Data: "{}"},
		{Tag: doudian.TagProductChanged, MsgID: "m1", Data: `{"product_id":1}`},
		{Tag: doudian.TagOrderPaid, MsgID: "m2", Data: string(otherShop)},
		{Tag: doudian.TagOrderShipped, MsgID: "m3", Data: "{not json"},
	}
	resp, err := c.HandleWebhook(t.Context(), e.push(t, msgs...))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Records) != 1 || resp.Records[0].Bad == nil || !strings.Contains(resp.Records[0].Bad.Location, "m3") {
		t.Fatalf("records %+v, want one bad record for m3", resp.Records)
	}
	if string(resp.Body) != string(doudian.PushOK()) {
		t.Fatalf("reply %s", resp.Body)
	}
}

func TestPushFetchFailureAsksForRedelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 20, Members: 100})
	c := e.connector(t, nil)
	if err := e.sb.InjectFault(sandbox.Fault{Method: doudian.MethodOrderDetail, Kind: sandbox.FaultError, Code: doudian.CodeThrottled}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.HandleWebhook(t.Context(), e.push(t, e.message(t, e.sb.OrderID(3))))
	if !errors.Is(err, sdk.ErrThrottled) || len(resp.Records) != 0 {
		t.Fatalf("error %v records %d, want throttled and none", err, len(resp.Records))
	}
}

func TestMemberSPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 20, Members: 300})
	c := e.connector(t, nil)
	var joiner sandbox.Member
	for _, m := range e.sb.Buyers() {
		if !m.Active {
			joiner = m
			break
		}
	}
	r, err := e.sb.MemberSPIRequest(t.Context(), "https://hub.example/webhooks/brand-a/douyin", joiner.PersonIndex, doudian.MemberEventJoin)
	if err != nil {
		t.Fatal(err)
	}
	req := webhook(t, r)
	resp, err := c.HandleWebhook(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	var reply doudian.SPIReply
	if err := json.Unmarshal(resp.Body, &reply); err != nil || reply.Code != 0 || reply.Data == nil || reply.Data.ErrorCode != doudian.MemberSPIOK {
		t.Fatalf("reply %s: %v", resp.Body, err)
	}
	if len(resp.Records) != 1 || resp.Records[0].Member == nil || resp.Records[0].Stream != douyin.StreamMembers {
		t.Fatalf("records %+v", resp.Records)
	}
	m := resp.Records[0].Member
	cfg := e.sb.Config()
	phone, _ := mapping.NormalizePhone(joiner.Mobile)
	want := []mapping.Identity{
		{Type: mapping.IDDouyinOpenID, Scope: shopScope(cfg), Value: joiner.OpenID},
		{Type: mapping.IDDouyinUnionID, Scope: cfg.Brand, Value: joiner.UnionID},
		{Type: mapping.IDPhone, Value: phone},
	}
	if len(m.Identities) != 3 || m.Identities[0] != want[0] || m.Identities[1] != want[1] || m.Identities[2] != want[2] || !m.Subscribed {
		t.Fatalf("member %+v, want identities %v", m, want)
	}

	forged := req
	forged.Query = strings.Replace(req.Query, "sign=", "sign=0", 1)
	resp, err = c.HandleWebhook(t.Context(), forged)
	if !errors.Is(err, sdk.ErrAuth) || len(resp.Records) != 0 {
		t.Fatalf("forged spi: %v, %d records", err, len(resp.Records))
	}
}

func TestWebhookOverGRPC(t *testing.T) {
	t.Parallel()
	// The plugin side runs on the wall clock: so does this sandbox.
	e := &env{sb: sandbox.New(sandbox.Config{Orders: 20, Members: 100})}
	srv := httptest.NewServer(e.sb)
	t.Cleanup(srv.Close)
	cfg := e.sb.Config()
	remote := sdk.NewTestRemote(t, douyin.Plugin, conformance.NewFakeHost(), "brand-a", "douyin")
	raw, _ := json.Marshal(map[string]any{"app_key": cfg.AppKey, "app_secret": cfg.AppSecret, "shop_id": cfg.ShopID, "brand": cfg.Brand, "api_base": srv.URL})
	good := e.push(t, e.message(t, e.sb.OrderID(5)))
	resp, err := remote.HandleWebhook(t.Context(), raw, good)
	if err != nil || len(resp.Records) != 1 || resp.Records[0].Order == nil {
		t.Fatalf("push over gRPC: %v, %+v", err, resp.Records)
	}
	bad := good
	bad.Header = good.Header.Clone()
	bad.Header.Set(doudian.HeaderEventSign, strings.Repeat("0", 32))
	resp, err = remote.HandleWebhook(t.Context(), raw, bad)
	if !errors.Is(err, sdk.ErrAuth) || len(resp.Records) != 0 {
		t.Fatalf("forged push over gRPC: %v, %d records", err, len(resp.Records))
	}
}
