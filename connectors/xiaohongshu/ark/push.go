package ark

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Push message tags (msgTag) the platform sends (fact sheet §3.8).
const (
	TagOrderStatusChange       = "msg_fulfillment_status_change"
	TagOrderReceiverChange     = "msg_fulfillment_receiver_change"
	TagOrderSellerRemarkChange = "msg_fulfillment_seller_remark_change"
	TagOrderDeliveryTimeChange = "msg_fulfillment_delivery_time_change"
	TagItemCreate              = "msg_item_create"
	TagItemBuyable             = "msg_item_buyable"
	TagItemAuditReject         = "msg_item_audit_reject"
	TagAfterSaleCreate         = "msg_after_sale_create"
	TagAfterSaleTransfer       = "msg_after_sale_transfer"
)

// PushMessage is one element of a push body, a JSON array of
// {"msgTag","sellerId","data"} where data is itself a JSON document in a
// string.
type PushMessage struct {
	MsgTag   string `json:"msgTag"`
	SellerID string `json:"sellerId"`
	Data     string `json:"data"`
}

// ErrMalformedPush is wrapped by ParsePush's errors.
var ErrMalformedPush = errors.New("malformed push body")

// ParsePush decodes a push body. The platform's reachability probe,
// {"test":true}, gives probe true and no messages; answer it with HTTP 200.
// Verify the sign header (VerifyPushSign) before calling ParsePush.
func ParsePush(body []byte) (msgs []PushMessage, probe bool, err error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var p struct {
			Test bool `json:"test"`
		}
		if err := json.Unmarshal(trimmed, &p); err != nil || !p.Test {
			return nil, false, fmt.Errorf("%w: an object that is not the {\"test\":true} probe", ErrMalformedPush)
		}
		return nil, true, nil
	}
	if err := json.Unmarshal(trimmed, &msgs); err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrMalformedPush, err)
	}
	for i, m := range msgs {
		if m.MsgTag == "" {
			return nil, false, fmt.Errorf("%w: message %d has no msgTag", ErrMalformedPush, i)
		}
	}
	return msgs, false, nil
}

// PushReply is the answer the platform expects to a push. A failure (or no
// HTTP 200) makes it retry once, 5 minutes later.
type PushReply struct {
	Success   bool   `json:"success"`
	ErrorCode int    `json:"error_code"`
	ErrorMsg  string `json:"error_msg"`
}

// OrderChange is the data of the order messages (msg_fulfillment_*): each
// names the order and when it changed; status changes also carry the new
// status. Fields beyond orderId/orderStatus/updateTime come from samples of
// live messages, not from the fact sheet.
type OrderChange struct {
	OrderID string `json:"orderId"`
	// PackageID is the fulfilment package, often equal to OrderID.
	PackageID string `json:"packageId,omitempty"`
	// OrderStatus is set on msg_fulfillment_status_change (Status*
	// constants). The platform may send status 4 twice (awaiting shipment,
	// then picked), so handle repeats.
	OrderStatus   int    `json:"orderStatus,omitempty"`
	PackageStatus int    `json:"packageStatus,omitempty"`
	UpdateTime    Millis `json:"updateTime"`
}

// IsOrderMessage reports whether m is about an order (msg_fulfillment_*).
func (m PushMessage) IsOrderMessage() bool {
	switch m.MsgTag {
	case TagOrderStatusChange, TagOrderReceiverChange, TagOrderSellerRemarkChange, TagOrderDeliveryTimeChange:
		return true
	}
	return false
}

// OrderChange decodes the data of an order message.
func (m PushMessage) OrderChange() (OrderChange, error) {
	if !m.IsOrderMessage() {
		return OrderChange{}, fmt.Errorf("%w: %s is not an order message", ErrMalformedPush, m.MsgTag)
	}
	var c OrderChange
	if err := json.Unmarshal([]byte(m.Data), &c); err != nil {
		return OrderChange{}, fmt.Errorf("%w: %s data: %w", ErrMalformedPush, m.MsgTag, err)
	}
	if c.OrderID == "" {
		return OrderChange{}, fmt.Errorf("%w: %s data has no orderId", ErrMalformedPush, m.MsgTag)
	}
	return c, nil
}
