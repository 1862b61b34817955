package xiaohongshu

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/sdk"
)

// pushReplyOK is the answer the platform expects to a push it may forget.
const pushReplyOK = `{"success":true,"error_code":0,"error_msg":""}`

// HandleWebhook takes a push from the platform (fact sheet §3.8). It
// verifies the sign header over the push URL (push_path, or the path the hub
// received, with the query) and the app-key and timestamp headers before it
// reads the body at all; a push that fails is refused with an auth error and
// produces nothing. A push only says that an order changed: for each order
// it names (order messages, and after-sale messages that carry an orderId)
// the connector fetches the order's detail and returns the full order, as a
// read would. Messages for other shops of the app, and about products, are
// acknowledged and ignored.
//
// An error makes the hub answer non-200, and the platform tries once more
// five minutes later; so a throttled or failed detail call fails the push
// rather than losing the change.
func (k *Connector) HandleWebhook(ctx context.Context, req sdk.WebhookRequest) (sdk.WebhookResponse, error) {
	if req.Method != "" && req.Method != http.MethodPost {
		return sdk.WebhookResponse{Status: http.StatusMethodNotAllowed, Header: http.Header{"Allow": {http.MethodPost}}}, nil
	}
	if unsignedProbe(req) {
		return ok(), nil
	}
	uri := req.Path
	if k.pushPath != "" {
		uri = k.pushPath
	}
	if req.Query != "" {
		uri += "?" + req.Query
	}
	if err := ark.VerifyPushSign(k.appID, k.secret.Reveal(), uri, req.Header); err != nil {
		k.host.Log().Warn().Err(err).Msg("push refused: bad signature")
		return sdk.WebhookResponse{}, &sdk.Error{Class: sdk.ClassAuth, Message: "push refused", Err: err}
	}
	msgs, probe, err := ark.ParsePush(req.Body)
	if err != nil {
		return sdk.WebhookResponse{}, &sdk.Error{Class: sdk.ClassBadRecord, Message: "push body", Err: err}
	}
	if probe {
		return ok(), nil
	}
	var ids []string
	seen := map[string]bool{}
	for _, m := range msgs {
		if m.SellerID != "" && m.SellerID != k.sellerID {
			k.host.Log().Debug().Str("msg_tag", m.MsgTag).Str("seller_id", m.SellerID).Msg("push for another shop ignored")
			continue
		}
		id := pushedOrderID(m)
		if id == "" {
			k.host.Log().Debug().Str("msg_tag", m.MsgTag).Msg("push without an order ignored")
			continue
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	details, errs := k.c.details(ctx, ids)
	if err := firstError(ctx, errs); err != nil {
		return sdk.WebhookResponse{}, err
	}
	resp := ok()
	for i, d := range details {
		if errs[i] != nil {
			resp.Records = append(resp.Records, sdk.Record{Stream: StreamOrders, ID: ids[i], Bad: &sdk.BadRecord{
				Reason: "pushed order not found: " + errs[i].Error(), Raw: req.Body, Location: "push"}})
			continue
		}
		resp.Records = append(resp.Records, orderRecord(k.sellerID, d))
	}
	return resp, nil
}

func ok() sdk.WebhookResponse {
	return sdk.WebhookResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(pushReplyOK)}
}

// The platform's reachability probe, as it documents it.
const (
	probeBody       = `{"test":true}`
	probeBodySpaced = `{"test": true}`
)

// unsignedProbe reports a request with no sign header whose body is, byte
// for byte, the platform's reachability probe. Whether the platform signs its
// probe is not documented; answering an unsigned one with 200 (and nothing
// else) lets the merchant enable pushes either way. Nothing is parsed or
// fetched for it.
func unsignedProbe(req sdk.WebhookRequest) bool {
	if req.Header.Get(ark.HeaderSign) != "" {
		return false
	}
	body := string(bytes.TrimSpace(req.Body))
	return body == probeBody || body == probeBodySpaced
}

// pushedOrderID is the order a push message is about, or "". The order
// messages' data is documented; after-sale messages are taken when their data
// has an orderId (their payload is not in the fact sheet).
func pushedOrderID(m ark.PushMessage) string {
	if m.IsOrderMessage() {
		c, err := m.OrderChange()
		if err != nil {
			return ""
		}
		return c.OrderID
	}
	switch m.MsgTag {
	case ark.TagAfterSaleCreate, ark.TagAfterSaleTransfer:
		var d struct {
			OrderID string `json:"orderId"`
		}
		if json.Unmarshal([]byte(m.Data), &d) == nil {
			return d.OrderID
		}
	}
	return ""
}
