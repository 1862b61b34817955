package xiaohongshu_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"

	"github.com/channelhub/channelhub/connectors/xiaohongshu"
	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/connectors/xiaohongshu/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

// pushTarget is the push URL configured for the app in these tests: the
// hub's webhook path for the connection, with a query parameter of its own.
const pushTarget = "https://hub.example.com/webhooks/brand-a/xhs-shop?src=ark"

// toWebhook turns the platform's push request into what the hub hands the
// plugin.
func toWebhook(t *testing.T, req *http.Request) sdk.WebhookRequest {
	t.Helper()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	return sdk.WebhookRequest{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Header: req.Header.Clone(), Body: body}
}

// pushFor builds the signed status-change push for each of ids, in one body.
func pushFor(t *testing.T, e *env, ids ...string) sdk.WebhookRequest {
	t.Helper()
	var msgs []ark.PushMessage
	for _, id := range ids {
		one := toWebhook(t, must(e.sb.OrderStatusPush(t.Context(), pushTarget, id)))
		var m []ark.PushMessage
		if err := json.Unmarshal(one.Body, &m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m...)
	}
	return toWebhook(t, must(e.sb.PushRequest(t.Context(), pushTarget, msgs...)))
}

func must(req *http.Request, err error) *http.Request {
	if err != nil {
		panic(err)
	}
	return req
}

// A push names a changed order; the connector answers what the platform
// expects and returns the full order, fetched from the platform.
func TestWebhookReturnsTheFullOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 300, Orders: 100}, t0)
	c := e.connector(t, nil)
	id := e.sb.OrderIDs()[0] // seeded awaiting payment
	if _, err := e.sb.TouchOrder(id, ark.StatusAwaitingShipment); err != nil {
		t.Fatal(err)
	}
	resp, err := c.HandleWebhook(t.Context(), pushFor(t, e, id))
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	var reply ark.PushReply
	if err := json.Unmarshal(resp.Body, &reply); err != nil || resp.Status != http.StatusOK || !reply.Success || reply.ErrorCode != 0 {
		t.Fatalf("reply %d %s", resp.Status, resp.Body)
	}
	if len(resp.Records) != 1 {
		t.Fatalf("%d records, want 1", len(resp.Records))
	}
	rec := resp.Records[0]
	d, _ := e.sb.Order(id)
	if rec.ID != id || rec.Stream != xiaohongshu.StreamOrders || rec.Order == nil {
		t.Fatalf("record %+v", rec)
	}
	if o := rec.Order; o.Status != mapping.OrderPaid || o.PaidFen != d.TotalPayAmount || len(o.Items) != len(d.SkuList) || len(o.Buyer) != 1 {
		t.Fatalf("order %+v, want the full order in status paid", o)
	}
}

// A push whose sign header does not verify is refused before its body is
// read: an auth error, no records, and no call to the platform.
func TestWebhookRejectsForgedSign(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 100, Orders: 30}, t0)
	c := e.connector(t, nil)
	id := e.sb.OrderIDs()[3]
	for _, tc := range []struct {
		name   string
		forge  func(*sdk.WebhookRequest)
		config map[string]any
	}{
		{"forged sign", func(r *sdk.WebhookRequest) { r.Header.Set(ark.HeaderSign, "0123456789abcdef0123456789abcdef") }, nil},
		{"no sign", func(r *sdk.WebhookRequest) { r.Header.Del(ark.HeaderSign) }, nil},
		{"signed with another secret", func(r *sdk.WebhookRequest) {
			q, _ := url.ParseQuery(r.Query)
			r.Header.Set(ark.HeaderSign, ark.PushSign("not-the-secret", ark.PushSignParams{Path: r.Path, Query: q, AppKey: r.Header.Get(ark.HeaderAppKey), Timestamp: r.Header.Get(ark.HeaderTimestamp)}))
		}, nil},
		{"timestamp changed", func(r *sdk.WebhookRequest) {
			ts, _ := strconv.Atoi(r.Header.Get(ark.HeaderTimestamp))
			r.Header.Set(ark.HeaderTimestamp, strconv.Itoa(ts+1))
		}, nil},
		{"another app", func(r *sdk.WebhookRequest) { r.Header.Set(ark.HeaderAppKey, "another-app") }, nil},
		{"query changed", func(r *sdk.WebhookRequest) { r.Query = "src=elsewhere" }, nil},
		{"another path", func(r *sdk.WebhookRequest) { r.Path = "/webhooks/brand-b/xhs-shop" }, nil},
		{"push_path differs", func(*sdk.WebhookRequest) {}, map[string]any{"push_path": "/xhs/push"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := c
			if tc.config != nil {
				conn = e.connector(t, tc.config)
			}
			req := pushFor(t, e, id)
			tc.forge(&req)
			before := e.sb.Stats().Requests
			resp, err := conn.HandleWebhook(t.Context(), req)
			if !errors.Is(err, sdk.ErrAuth) {
				t.Fatalf("forged push: %v (%d %s), want an auth error", err, resp.Status, resp.Body)
			}
			if len(resp.Records) != 0 {
				t.Fatalf("forged push emitted %d records", len(resp.Records))
			}
			if n := e.sb.Stats().Requests - before; n != 0 {
				t.Fatalf("forged push made %d platform calls", n)
			}
		})
	}
}

// Behind a proxy that rewrites the path, push_path names the public one.
func TestWebhookPushPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 100, Orders: 30}, t0)
	c := e.connector(t, map[string]any{"push_path": "/webhooks/brand-a/xhs-shop"})
	req := pushFor(t, e, e.sb.OrderIDs()[1])
	req.Path = "/internal/hub/webhooks/brand-a/xhs-shop"
	resp, err := c.HandleWebhook(t.Context(), req)
	if err != nil || len(resp.Records) != 1 {
		t.Fatalf("push through a proxy: %v, %d records", err, len(resp.Records))
	}
}

// Probes, other shops' messages, product messages and unknown orders.
func TestWebhookOtherMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 100, Orders: 30}, t0)
	c := e.connector(t, nil)
	seller := e.sb.Config().SellerID
	change := func(id string) string {
		b, _ := json.Marshal(ark.OrderChange{OrderID: id, OrderStatus: ark.StatusCompleted, UpdateTime: ark.MillisOf(t0)})
		return string(b)
	}
	ids := e.sb.OrderIDs()
	signedProbe := pushFor(t, e)
	signedProbe.Body = []byte(`{"test":true}`) // the body is not signed
	for _, tc := range []struct {
		name string
		req  sdk.WebhookRequest
		want []string // record ids; "!" prefix: a bad record
	}{
		{"signed probe", signedProbe, nil},
		{"unsigned probe", sdk.WebhookRequest{Method: http.MethodPost, Path: "/webhooks/brand-a/xhs-shop", Header: http.Header{}, Body: []byte(`{"test": true}`)}, nil},
		{"another shop", toWebhook(t, must(e.sb.PushRequest(t.Context(), pushTarget, ark.PushMessage{MsgTag: ark.TagOrderStatusChange, SellerID: "another-shop", Data: change(ids[2])}))), nil},
		{"product message", toWebhook(t, must(e.sb.PushRequest(t.Context(), pushTarget, ark.PushMessage{MsgTag: ark.TagItemCreate, SellerID: seller, Data: `{"itemId":"i1"}`}))), nil},
		{"after-sale with an order", toWebhook(t, must(e.sb.PushRequest(t.Context(), pushTarget, ark.PushMessage{MsgTag: ark.TagAfterSaleCreate, SellerID: seller, Data: `{"returnsId":"R1","orderId":"` + ids[4] + `"}`}))), []string{ids[4]}},
		{"one order twice, and one more", toWebhook(t, must(e.sb.PushRequest(t.Context(), pushTarget,
			ark.PushMessage{MsgTag: ark.TagOrderStatusChange, SellerID: seller, Data: change(ids[5])},
			ark.PushMessage{MsgTag: ark.TagOrderSellerRemarkChange, SellerID: seller, Data: change(ids[5])},
			ark.PushMessage{MsgTag: ark.TagOrderDeliveryTimeChange, SellerID: seller, Data: change(ids[6])}))), []string{ids[5], ids[6]}},
		{"unknown order", toWebhook(t, must(e.sb.PushRequest(t.Context(), pushTarget, ark.PushMessage{MsgTag: ark.TagOrderStatusChange, SellerID: seller, Data: change("P700000000000000000")}))), []string{"!P700000000000000000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.HandleWebhook(t.Context(), tc.req)
			if err != nil || resp.Status != http.StatusOK {
				t.Fatalf("push: %v (%d)", err, resp.Status)
			}
			var got []string
			for _, r := range resp.Records {
				id := r.ID
				if r.Bad != nil {
					id = "!" + id
				}
				got = append(got, id)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("records %v, want %v", got, tc.want)
			}
		})
	}

	// A signed body that is not a push is a bad request.
	bad := pushFor(t, e)
	bad.Body = []byte(`{"orders":1}`)
	if _, err := c.HandleWebhook(t.Context(), bad); err == nil || errors.Is(err, sdk.ErrAuth) {
		t.Fatalf("malformed signed push: %v, want a non-auth error", err)
	}
	// A detail call that is throttled fails the push, so the platform retries.
	if err := e.sb.Inject(ark.MethodGetOrderDetail, sandbox.Fault{Kind: sandbox.FaultErrorCode, ErrorCode: ark.CodeThrottled}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HandleWebhook(t.Context(), pushFor(t, e, ids[7])); !errors.Is(err, sdk.ErrThrottled) {
		t.Fatalf("push while throttled: %v, want throttled", err)
	}
}

// Over the plugin protocol a forged push is refused the same way.
func TestWebhookOverGRPC(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Members: 100, Orders: 30}, t0)
	remote := sdk.NewTestRemote(t, xiaohongshu.Plugin, conformance.NewFakeHost(), "tenant", "xhs")
	cfg, _ := json.Marshal(e.raw)
	id := e.sb.OrderIDs()[2]

	resp, err := remote.HandleWebhook(t.Context(), cfg, pushFor(t, e, id))
	if err != nil || len(resp.Records) != 1 || resp.Records[0].Order == nil || resp.Records[0].Order.OrderID != id {
		t.Fatalf("push over gRPC: %v, %+v", err, resp.Records)
	}
	forged := pushFor(t, e, id)
	forged.Header.Set(ark.HeaderSign, "00000000000000000000000000000000")
	resp, err = remote.HandleWebhook(t.Context(), cfg, forged)
	if !errors.Is(err, sdk.ErrAuth) || len(resp.Records) != 0 {
		t.Fatalf("forged push over gRPC: %v, %d records", err, len(resp.Records))
	}
}
