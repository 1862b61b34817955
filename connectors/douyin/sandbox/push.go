package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
)

// statusTag is the message tag the platform sends when an order reaches a
// status.
func statusTag(status int) string {
	switch status {
	case doudian.OrderStatusCreated:
		return doudian.TagOrderCreated
	case doudian.OrderStatusPaid, doudian.OrderStatusAwaitingShipment:
		return doudian.TagOrderPaid
	case doudian.OrderStatusPartlyShipped:
		return doudian.TagOrderPartlyShipped
	case doudian.OrderStatusShipped:
		return doudian.TagOrderShipped
	case doudian.OrderStatusCancelled:
		return doudian.TagOrderCancelled
	case doudian.OrderStatusCompleted:
		return doudian.TagOrderCompleted
	}
	return ""
}

// OrderMessage returns the push message for an order's current status: tag
// 100 created, 101 paid, 108 partly shipped, 102 shipped, 106 cancelled or
// 103 completed, with that tag's data fields.
func (s *Server) OrderMessage(orderID string) (doudian.PushMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.orderIndex(orderID)
	if !ok {
		return doudian.PushMessage{}, fmt.Errorf("sandbox: no order %q", orderID)
	}
	so := s.render(i, s.cfg.ShopName)
	pid, _ := strconv.ParseInt(so.OrderID, 10, 64)
	ev := doudian.TradeEvent{PID: pid, ShopID: so.ShopID, OrderStatus: so.OrderStatus, OrderType: so.OrderType, Biz: 2}
	for _, c := range so.SkuOrderList {
		sid, _ := strconv.ParseInt(c.OrderID, 10, 64)
		ev.SIDs = append(ev.SIDs, sid)
	}
	tag := statusTag(so.OrderStatus)
	switch tag {
	case doudian.TagOrderCreated:
		ev.CreateTime = so.CreateTime
	case doudian.TagOrderPaid:
		ev.PayTime, ev.PayAmount, ev.PayType = so.PayTime, so.PayAmount, so.PayType
	case doudian.TagOrderShipped, doudian.TagOrderPartlyShipped:
		ev.UpdateTime = so.UpdateTime
	case doudian.TagOrderCompleted:
		ev.CompleteTime = so.FinishTime
	case doudian.TagOrderCancelled:
		ev.CancelTime, ev.CancelReason = so.UpdateTime, so.CancelReason
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return doudian.PushMessage{}, fmt.Errorf("sandbox: order message: %w", err)
	}
	return doudian.PushMessage{Tag: tag, MsgID: fmt.Sprintf("%s:%s:%d", so.OrderID, tag, s.now().Unix()), Data: string(data)}, nil
}

// PushRequest builds the platform's push of msgs to target: a POST of the
// JSON message array with the app-id and event-sign headers
// (doudian.EventSign). Send it with any http.Client; the receiver should
// answer doudian.PushOK.
func (s *Server) PushRequest(ctx context.Context, target string, msgs ...doudian.PushMessage) (*http.Request, error) {
	if msgs == nil {
		msgs = []doudian.PushMessage{}
	}
	body, err := json.Marshal(msgs)
	if err != nil {
		return nil, fmt.Errorf("sandbox: push body: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("sandbox: push request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(doudian.HeaderAppID, s.cfg.AppKey)
	req.Header.Set(doudian.HeaderSignMethod, string(doudian.SignMD5))
	req.Header.Set(doudian.HeaderEventSign, doudian.EventSign(s.cfg.AppKey, s.cfg.AppSecret, body))
	return req, nil
}

// MemberSPIRequest records that a person joined (doudian.MemberEventJoin) or
// left (doudian.MemberEventLeave) the shop membership and builds the SPI
// request the platform sends to the app at target: query app_key, timestamp,
// sign_method=hmac-sha256 and sign (doudian.SPISign), param_json
// (doudian.MemberSPIEvent) as the body. A joining person starts at level 1
// with no points unless already a member.
func (s *Server) MemberSPIRequest(ctx context.Context, target string, personIndex int, event string) (*http.Request, error) {
	if event != doudian.MemberEventJoin && event != doudian.MemberEventLeave {
		return nil, fmt.Errorf("sandbox: member event %q is not join or leave", event)
	}
	s.mu.Lock()
	bi, ok := s.byIndex[personIndex]
	if !ok {
		s.mu.Unlock()
		return nil, fmt.Errorf("sandbox: person %d is not on douyin", personIndex)
	}
	b := &s.buyers[bi]
	now := s.now().Unix()
	switch {
	case event == doudian.MemberEventJoin && !b.member:
		b.member, b.level, b.pointCent, b.joined = true, 1, 0, now
	case event == doudian.MemberEventLeave:
		b.member = false
	}
	ev := doudian.MemberSPIEvent{Event: event, OpenID: b.openID, UnionID: b.unionID, Mobile: b.mobile, ShopID: s.cfg.ShopID, EventTime: now}
	s.mu.Unlock()

	paramJSON, err := doudian.CanonicalJSON(ev)
	if err != nil {
		return nil, fmt.Errorf("sandbox: member spi: %w", err)
	}
	ts := strconv.FormatInt(now, 10)
	q := url.Values{}
	q.Set("app_key", s.cfg.AppKey)
	q.Set("timestamp", ts)
	q.Set("sign_method", string(doudian.SignHMACSHA256))
	q.Set("sign", doudian.SPISign(doudian.SignHMACSHA256, s.cfg.AppKey, s.cfg.AppSecret, ts, string(paramJSON)))
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("sandbox: member spi target: %w", err)
	}
	uq := u.Query()
	for k, v := range q {
		uq[k] = v
	}
	u.RawQuery = uq.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(paramJSON))
	if err != nil {
		return nil, fmt.Errorf("sandbox: member spi request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}
