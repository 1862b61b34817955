package douyin

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// HandleWebhook takes the platform's callbacks at the connection's webhook
// URL. Two kinds arrive there:
//
//   - message pushes (an event-sign header): the signature is verified over
//     the raw body before anything is parsed. Order messages (tags 1xx and
//     2xx) only say that an order changed, so each order is fetched in full
//     with order.orderDetail and emitted on the orders stream. Other messages
//     (products, the URL check, other shops of a tool app) are acknowledged
//     and dropped. The reply is {"code":0,"msg":"success"}.
//   - member join/leave SPI calls (sign / sign_v2 in the query): verified the
//     same way first, then emitted on the members stream with the member's
//     open_id, union_id and the mobile number the member agreed to share.
//
// A request whose signature does not verify returns an auth error and emits
// nothing. A failed fetch returns its classed error, so the hub answers a
// failure and the platform delivers again.
func (k *Connector) HandleWebhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	if req.Method != http.MethodPost {
		return sdk.WebhookResponse{}, sdk.PermanentError("", "douyin callbacks are POSTs, got %s", req.Method)
	}
	q, _ := url.ParseQuery(req.Query)
	if req.Header.Get(doudian.HeaderEventSign) == "" && (q.Get("sign") != "" || q.Get("sign_v2") != "") {
		return k.handleSPI(ctx, req)
	}
	return k.handlePush(ctx, req)
}

func jsonReply(body []byte, records []sdk.Record) sdk.WebhookResponse {
	return sdk.WebhookResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: body, Records: records}
}

func (k *Connector) handlePush(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	if app := req.Header.Get(doudian.HeaderAppID); app != "" && app != k.appKey {
		return sdk.WebhookResponse{}, sdk.AuthError("", "push for another app (app-id header does not match app_key)")
	}
	if err := doudian.VerifyEventSign(k.appKey, k.secret.Reveal(), req.Body, req.Header.Get(doudian.HeaderEventSign)); err != nil {
		return sdk.WebhookResponse{}, &sdk.Error{Class: sdk.ClassAuth, Message: "push rejected", Err: err}
	}
	msgs, err := doudian.ParsePush(req.Body)
	if err != nil {
		// Signed by the platform yet unreadable: redelivery will not help.
		bad := sdk.Record{Stream: StreamOrders, Bad: &sdk.BadRecord{Reason: err.Error(), Raw: req.Body, Location: "push body"}}
		return jsonReply(doudian.PushOK(), []sdk.Record{bad}), nil
	}
	var ids []string
	var records []sdk.Record
	for _, m := range msgs {
		id, bad := k.pushedOrder(m)
		if bad != nil {
			records = append(records, *bad)
		}
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	unions := map[string]string{}
	orders := make([]doudian.ShopOrder, 0, len(ids))
	for _, id := range ids {
		o, err := k.c.orderDetail(ctx, id)
		if err != nil {
			return sdk.WebhookResponse{}, err
		}
		orders = append(orders, *o)
	}
	if err := k.lookupUnions(ctx, orders, unions); err != nil {
		return sdk.WebhookResponse{}, err
	}
	for i := range orders {
		records = append(records, k.record(&orders[i], unions, doudian.MethodOrderDetail))
	}
	return jsonReply(doudian.PushOK(), records), nil
}

// pushedOrder returns the parent order id an order message (tags 1xx, 2xx)
// is about, or "" for messages about something else or another shop. A
// message whose data does not decode comes back as a bad record.
func (k *Connector) pushedOrder(m doudian.PushMessage) (string, *sdk.Record) {
	if len(m.Tag) != 3 || (m.Tag[0] != '1' && m.Tag[0] != '2') {
		return "", nil // URL check (tag 0), products (4xx)…
	}
	ev, err := m.Trade()
	if err != nil {
		return "", &sdk.Record{Stream: StreamOrders, Bad: &sdk.BadRecord{Reason: err.Error(), Raw: []byte(m.Data), Location: "push message " + m.MsgID + " tag " + m.Tag}}
	}
	if ev.PID == 0 || (ev.ShopID != 0 && ev.ShopID != k.shopID) {
		return "", nil
	}
	return ev.OrderID(), nil
}

func (k *Connector) handleSPI(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://callback/?"+req.Query, bytes.NewReader(req.Body))
	if err != nil {
		return sdk.WebhookResponse{}, sdk.PermanentError("", "spi request: %v", err)
	}
	spi, err := doudian.ParseSPIRequest(hr)
	if err != nil {
		return sdk.WebhookResponse{}, sdk.PermanentError("", "%v", err)
	}
	if err := spi.Verify(k.appKey, k.secret.Reveal()); err != nil {
		return sdk.WebhookResponse{}, &sdk.Error{Class: sdk.ClassAuth, Message: "spi call rejected", Err: err}
	}
	ev, err := spi.MemberEvent()
	switch {
	case err != nil:
		bad := sdk.Record{Stream: StreamMembers, Bad: &sdk.BadRecord{Reason: err.Error(), Raw: spi.ParamJSON, Location: "member spi"}}
		return jsonReply(doudian.MemberSPIReply(doudian.MemberSPIRejected, "unreadable event"), []sdk.Record{bad}), nil
	case ev.ShopID != 0 && ev.ShopID != k.shopID:
		return jsonReply(doudian.MemberSPIReply(doudian.MemberSPIRejected, "shop not served by this connection"), nil), nil
	case ev.OpenID == "" || (ev.Event != doudian.MemberEventJoin && ev.Event != doudian.MemberEventLeave):
		bad := sdk.Record{Stream: StreamMembers, Bad: &sdk.BadRecord{Reason: "member event without open_id or with an unknown event", Raw: spi.ParamJSON, Location: "member spi"}}
		return jsonReply(doudian.MemberSPIReply(doudian.MemberSPIRejected, "unknown event"), []sdk.Record{bad}), nil
	}
	return jsonReply(doudian.MemberSPIReply(doudian.MemberSPIOK, ""), []sdk.Record{k.memberRecord(ev)}), nil
}

// memberRecord maps a member join/leave event. The mobile is the number the
// member agreed to share on joining; a malformed one is left out.
func (k *Connector) memberRecord(ev *doudian.MemberSPIEvent) sdk.Record {
	m := &mapping.Member{
		Identities: []mapping.Identity{{Type: mapping.IDDouyinOpenID, Scope: k.shop, Value: ev.OpenID}},
		Subscribed: ev.Event == doudian.MemberEventJoin,
		Attributes: map[string]string{"member_event": ev.Event},
	}
	if ev.UnionID != "" && k.brand != "" {
		m.Identities = append(m.Identities, mapping.Identity{Type: mapping.IDDouyinUnionID, Scope: k.brand, Value: ev.UnionID})
	}
	if ev.Mobile != "" {
		if phone, err := mapping.NormalizePhone(ev.Mobile); err == nil {
			m.Identities = append(m.Identities, mapping.Identity{Type: mapping.IDPhone, Value: phone})
		}
	}
	at := unix(ev.EventTime)
	if at.IsZero() {
		at = k.c.now().UTC().Truncate(time.Second)
	}
	if m.Subscribed {
		m.SubscribedAt = at
	}
	return sdk.Record{Stream: StreamMembers, ID: ev.OpenID, UpdatedAt: at, Member: m, Deleted: !m.Subscribed}
}
