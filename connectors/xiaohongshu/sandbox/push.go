package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
)

// PushRequest builds the POST the platform would send to target, the push
// URL configured for the app, carrying msgs: a JSON array body and the
// app-key, timestamp (now, Unix seconds) and sign headers, signed over
// target's path and query (fact sheet §3.8). Send it with any http.Client.
func (s *Server) PushRequest(ctx context.Context, target string, msgs ...ark.PushMessage) (*http.Request, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("sandbox: push target %q is not an absolute URL", target)
	}
	if msgs == nil {
		msgs = []ark.PushMessage{}
	}
	body, err := json.Marshal(msgs)
	if err != nil {
		return nil, fmt.Errorf("sandbox: encode push: %w", err)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	sign := ark.PushSign(s.cfg.AppSecret, ark.PushSignParams{Path: path, Query: u.Query(), AppKey: s.cfg.AppID, Timestamp: ts})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("sandbox: build push: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ark.HeaderAppKey, s.cfg.AppID)
	req.Header.Set(ark.HeaderTimestamp, ts)
	req.Header.Set(ark.HeaderSign, sign)
	return req, nil
}

// OrderStatusPush builds the msg_fulfillment_status_change push for an
// order's current status and update time (see PushRequest).
func (s *Server) OrderStatusPush(ctx context.Context, target, orderID string) (*http.Request, error) {
	s.mu.Lock()
	i, ok := s.byID[orderID]
	var change ark.OrderChange
	if ok {
		o := &s.orders[i]
		change = ark.OrderChange{OrderID: o.id, PackageID: o.id, OrderStatus: int(o.status), PackageStatus: int(o.status), UpdateTime: ark.Millis(o.updated)}
	}
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q", errNoOrder, orderID)
	}
	data, err := json.Marshal(change)
	if err != nil {
		return nil, fmt.Errorf("sandbox: encode push data: %w", err)
	}
	return s.PushRequest(ctx, target, ark.PushMessage{MsgTag: ark.TagOrderStatusChange, SellerID: s.cfg.SellerID, Data: string(data)})
}
