package ark_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/mapping"
)

func TestParseResponse(t *testing.T) {
	t.Parallel()
	type class struct{ throttled, authExpired, authInvalid, unavailable bool }
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string // substring; "" for success
		code    int
		class   class
		data    string // want data.X when successful
	}{
		{name: "success", status: 200, body: `{"success":true,"error_code":0,"error_msg":"","data":{"x":"a"}}`, data: "a"},
		{name: "success without data", status: 200, body: `{"success":true,"error_code":0}`},
		{name: "no success field, code 0", status: 200, body: `{"error_code":0,"data":{"x":"b"}}`, data: "b"},
		{name: "code/msg form", status: 200, body: `{"success":true,"code":0,"msg":"成功","data":{"x":"c"}}`, data: "c"},
		{name: "bad params", status: 200, body: `{"success":false,"error_code":-1000400,"error_msg":"请求参数错误"}`, wantErr: "error_code -1000400: 请求参数错误", code: -1000400},
		{name: "no permission", status: 200, body: `{"success":false,"error_code":-1000401,"error_msg":"签名校验失败"}`, wantErr: "-1000401", code: -1000401, class: class{authInvalid: true}},
		{name: "grant invalid", status: 200, body: `{"success":false,"error_code":-1000403,"error_msg":"x"}`, wantErr: "-1000403", code: -1000403, class: class{authInvalid: true}},
		{name: "token invalid", status: 200, body: `{"success":false,"error_code":-1000402,"error_msg":"x"}`, wantErr: "-1000402", code: -1000402, class: class{authExpired: true}},
		{name: "throttled as string code", status: 200, body: `{"success":false,"error_code":"-1000429","error_msg":"请求过于频繁"}`, wantErr: "-1000429", code: -1000429, class: class{throttled: true}},
		{name: "decrypt quota", status: 200, body: `{"success":false,"code":-2000701,"msg":"解密额度不足"}`, wantErr: "解密额度不足", code: -2000701, class: class{throttled: true}},
		{name: "server error", status: 200, body: `{"success":false,"error_code":-1000500,"error_msg":"Inter Server Error"}`, wantErr: "-1000500", code: -1000500, class: class{unavailable: true}},
		{name: "failure without code", status: 200, body: `{"success":false,"error_msg":"系统繁忙"}`, wantErr: "error_code 0: 系统繁忙", code: 0, class: class{unavailable: true}},
		{name: "order not found", status: 200, body: `{"success":false,"error_code":-2000101,"error_msg":"x"}`, wantErr: "-2000101", code: -2000101},
		{name: "success false beats code 0", status: 200, body: `{"success":false,"error_code":0,"error_msg":"?"}`, wantErr: "error_code 0", code: 0, class: class{unavailable: true}},
		{name: "HTTP 502", status: 502, body: `<html>bad gateway</html>`, wantErr: "HTTP 502", class: class{unavailable: true}},
		{name: "HTTP 429", status: 429, body: ``, wantErr: "HTTP 429", class: class{throttled: true, unavailable: true}},
		{name: "truncated JSON", status: 200, body: `{"success":true,"data":{"x":`, wantErr: "malformed response body", class: class{unavailable: true}},
		{name: "not an envelope", status: 200, body: `{"foo":1}`, wantErr: "neither success nor error_code", class: class{unavailable: true}},
		{name: "non-numeric code", status: 200, body: `{"success":false,"error_code":"abc"}`, wantErr: "not an integer", class: class{unavailable: true}},
		{name: "data of wrong shape", status: 200, body: `{"success":true,"error_code":0,"data":{"x":1}}`, wantErr: "data:", class: class{unavailable: true}},
	}
	for _, tt := range tests {
		var data struct {
			X string `json:"x"`
		}
		err := ark.ParseResponse("m.x", tt.status, []byte(tt.body), &data)
		if tt.wantErr == "" {
			if err != nil || data.X != tt.data {
				t.Errorf("%s: err %v, data %q; want nil, %q", tt.name, err, data.X, tt.data)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err %v, want containing %q", tt.name, err, tt.wantErr)
			continue
		}
		if ae, ok := errors.AsType[*ark.APIError](err); ok && ae.Code != tt.code {
			t.Errorf("%s: code %d, want %d", tt.name, ae.Code, tt.code)
		}
		got := class{ark.IsThrottled(err), ark.IsAuthExpired(err), ark.IsAuthInvalid(err), ark.IsUnavailable(err)}
		if got != tt.class {
			t.Errorf("%s: class %+v, want %+v", tt.name, got, tt.class)
		}
	}
}

func TestTransportErrorsAreUnavailable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	c, err := ark.New(ark.Config{AppID: "a", AppSecret: "s", BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Call(t.Context(), "order.getOrderDetail", "token-secret", map[string]string{"orderId": "P1"}, nil)
	if err == nil || !ark.IsUnavailable(err) {
		t.Fatalf("err %v: want unavailable", err)
	}
	if strings.Contains(err.Error(), "token-secret") {
		t.Fatalf("error %q leaks the access token", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Call(ctx, "m", "", nil, nil); err == nil || ark.IsUnavailable(err) {
		t.Fatalf("cancelled call: err %v, want not unavailable", err)
	}
}

func TestNewRequestBody(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	c, err := ark.New(ark.Config{AppID: "xhs-app-1", AppSecret: "xhs-secret", BaseURL: "http://gw.test/", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	req, err := c.NewRequest(t.Context(), "order.getOrderList", "token-1", ark.OrderListParams{StartTime: 1, EndTime: 2, TimeType: 1, PageNo: 3})
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.URL.String() != "http://gw.test"+ark.EndpointPath || req.Header.Get("Content-Type") != ark.ContentType {
		t.Fatalf("request %s %s %q", req.Method, req.URL, req.Header.Get("Content-Type"))
	}
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"appId": "xhs-app-1", "timestamp": "1700000000", "version": "2.0", "method": "order.getOrderList",
		"sign": "163a6c1993844c6054de38bf9915265c", "accessToken": "token-1",
		"startTime": 1.0, "endTime": 2.0, "timeType": 1.0, "pageNo": 3.0,
	}
	if len(body) != len(want) {
		t.Errorf("body %s: want exactly %v", raw, want)
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body[%q] = %v, want %v", k, body[k], v)
		}
	}
	if _, err := c.NewRequest(t.Context(), "m", "", map[string]string{"sign": "x"}); !errors.Is(err, ark.ErrInvalidRequest) {
		t.Errorf("clashing param: err %v, want ErrInvalidRequest", err)
	}
	if _, err := c.NewRequest(t.Context(), "m", "", []int{1}); !errors.Is(err, ark.ErrInvalidRequest) {
		t.Errorf("array params: err %v, want ErrInvalidRequest", err)
	}
	req, err = c.NewRequest(t.Context(), "oauth.getAccessToken", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(req.Body)
	if strings.Contains(string(raw), "accessToken") {
		t.Errorf("OAuth body %s carries accessToken", raw)
	}
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []ark.Config{{}, {AppID: "a"}, {AppID: "a", AppSecret: "s", BaseURL: "not a url"}} {
		if _, err := ark.New(cfg); err == nil {
			t.Errorf("New(%+v): want error", cfg)
		}
	}
	if _, err := ark.New(ark.Config{AppID: "a", AppSecret: "s"}); err != nil {
		t.Errorf("default base URL: %v", err)
	}
}

func TestOrderListValidate(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	ok := ark.OrderListRequest{Start: t0, End: t0.Add(time.Hour), TimeType: ark.TimeCreated}
	with := func(f func(*ark.OrderListRequest)) ark.OrderListRequest { r := ok; f(&r); return r }
	tests := []struct {
		name string
		req  ark.OrderListRequest
		err  string
	}{
		{"ok", ok, ""},
		{"created 24h exactly", with(func(r *ark.OrderListRequest) { r.End = t0.Add(24 * time.Hour) }), ""},
		{"created 24h+1s", with(func(r *ark.OrderListRequest) { r.End = t0.Add(24*time.Hour + time.Second) }), "longer than the 24h0m0s allowed for timeType 1 (created)"},
		{"updated 30m exactly", with(func(r *ark.OrderListRequest) { r.TimeType, r.End = ark.TimeUpdated, t0.Add(30*time.Minute) }), ""},
		{"updated 30m+1s", with(func(r *ark.OrderListRequest) { r.TimeType, r.End = ark.TimeUpdated, t0.Add(30*time.Minute+time.Second) }), "longer than the 30m0s allowed for timeType 2 (updated)"},
		{"updated, sub-second excess ignored", with(func(r *ark.OrderListRequest) {
			r.TimeType, r.End = ark.TimeUpdated, t0.Add(30*time.Minute+999*time.Millisecond)
		}), ""},
		{"no time type", with(func(r *ark.OrderListRequest) { r.TimeType = 0 }), "timeType 0"},
		{"end before start", with(func(r *ark.OrderListRequest) { r.End = t0.Add(-time.Second) }), "before start"},
		{"no start", with(func(r *ark.OrderListRequest) { r.Start = time.Time{} }), "required"},
		{"page 100", with(func(r *ark.OrderListRequest) { r.PageNo = 100 }), ""},
		{"page 101", with(func(r *ark.OrderListRequest) { r.PageNo = 101 }), "pageNo 101"},
		{"size 101", with(func(r *ark.OrderListRequest) { r.PageSize = 101 }), "pageSize 101"},
		{"status 11", with(func(r *ark.OrderListRequest) { r.OrderStatus = 11 }), "orderStatus 11"},
		{"type 6", with(func(r *ark.OrderListRequest) { r.OrderType = 6 }), "orderType 6"},
	}
	for _, tt := range tests {
		err := tt.req.Validate()
		if tt.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ark.ErrInvalidRequest) {
			t.Errorf("%s: err %v, want ErrInvalidRequest containing %q", tt.name, err, tt.err)
		}
	}
}

func TestSplitWindow(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name       string
		start, end time.Time
		max        time.Duration
		want       [][2]int64 // offsets from t0 in seconds
	}{
		{"one window", t0, t0.Add(10 * time.Minute), 30 * time.Minute, [][2]int64{{0, 600}}},
		{"exact fit", t0, t0.Add(time.Hour), 30 * time.Minute, [][2]int64{{0, 1800}, {1800, 3600}}},
		{"remainder", t0, t0.Add(70 * time.Minute), 30 * time.Minute, [][2]int64{{0, 1800}, {1800, 3600}, {3600, 4200}}},
		{"instant", t0, t0, time.Hour, [][2]int64{{0, 0}}},
		{"sub-second end rounds up", t0.Add(300 * time.Millisecond), t0.Add(2500 * time.Millisecond), time.Hour, [][2]int64{{0, 3}}},
		{"reversed", t0.Add(time.Second), t0, time.Hour, nil},
	}
	for _, tt := range tests {
		got := ark.SplitWindow(tt.start, tt.end, tt.max)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %d windows %v, want %v", tt.name, len(got), got, tt.want)
			continue
		}
		for i, w := range got {
			if w.Start.Unix()-t0.Unix() != tt.want[i][0] || w.End.Unix()-t0.Unix() != tt.want[i][1] {
				t.Errorf("%s: window %d = %v, want offsets %v", tt.name, i, w, tt.want[i])
			}
			if w.End.Sub(w.Start) > tt.max {
				t.Errorf("%s: window %d longer than %s", tt.name, i, tt.max)
			}
		}
	}
}

func TestTokenDecodeAndRefreshRules(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"error_code":0,"success":true,"data":{"accessToken":"token-a","accessTokenExpiresAt":1613807389260,"refreshToken":"refresh-r","refreshTokenExpiresAt":1616312989263,"sellerId":"5a1e832","sellerName":"开放平台测试店1专卖店"}}`,
		`{"error_code":0,"success":true,"data":{"accessToken":"token-a","accessTokenExpiresAt":1613807389260,"refreshToken":"refresh-r","refreshTokenExpiresAt":1616312989263,"sellerId":5,"sellerName":"开放平台测试店1专卖店"}}`,
	} {
		var tok ark.Token
		if err := ark.ParseResponse(ark.MethodGetAccessToken, 200, []byte(body), &tok); err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken != "token-a" || tok.RefreshToken != "refresh-r" || tok.SellerID == "" || tok.SellerName == "" {
			t.Fatalf("token %+v", tok)
		}
		exp := tok.AccessTokenExpiresAt.Time()
		if want := time.UnixMilli(1613807389260).UTC(); !exp.Equal(want) {
			t.Fatalf("access expiry %v, want %v", exp, want)
		}
		if tok.NeedsRefresh(exp.Add(-31*time.Minute)) || !tok.NeedsRefresh(exp.Add(-30*time.Minute)) || !tok.NeedsRefresh(exp.Add(time.Hour)) {
			t.Error("NeedsRefresh should turn true 30 min before expiry")
		}
		rexp := tok.RefreshTokenExpiresAt.Time()
		if tok.Reauthorize(rexp.Add(-time.Millisecond)) || !tok.Reauthorize(rexp) {
			t.Error("Reauthorize should turn true at refresh expiry")
		}
	}
	if ark.Millis(0).Time() != (time.Time{}) || ark.MillisOf(time.Time{}) != 0 {
		t.Error("zero Millis should be the zero time")
	}
}

func TestOrderDetailDecodesDocumentedShape(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/order_detail.json")
	if err != nil {
		t.Fatal(err)
	}
	var d ark.OrderDetail
	if err := ark.ParseResponse(ark.MethodGetOrderDetail, 200, raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.OrderID != "P768291112062421411" || d.OrderStatus != ark.StatusCompleted || d.UserID != "12345" || d.ShopID != "shopabc" || d.OpenAddressID != "8ac2f1e0" {
		t.Fatalf("ids/status: %+v", d.OrderSummary)
	}
	if d.TotalPayAmount != mapping.Fen(9000) || d.TotalShippingFree != 1000 || d.MerchantActualReceiveAmount != 9400 || d.TotalMerchantDiscount != 600 || d.TotalRedDiscount != 400 {
		t.Fatalf("amounts: pay %v ship %v actual %v", d.TotalPayAmount, d.TotalShippingFree, d.MerchantActualReceiveAmount)
	}
	if d.TotalPayAmount.String() != "90.00" {
		t.Fatalf("TotalPayAmount = %s yuan", d.TotalPayAmount)
	}
	if len(d.SkuList) != 1 || d.SkuList[0].TotalPaidAmount != 8000 || d.SkuList[0].SkuQuantity != 2 || d.SkuList[0].SkuDetailList[0].RawPricePerSku != 4500 {
		t.Fatalf("sku list %+v", d.SkuList)
	}
	if got := d.CreatedTime.Time(); !got.Equal(time.UnixMilli(1752812659421)) {
		t.Fatalf("created %v", got)
	}
	if d.TimeOf(ark.TimeUpdated) != 1753175101977 || d.TimeOf(ark.TimeCreated) != 1752812659421 {
		t.Fatal("TimeOf")
	}
	if _, err := mapping.XiaohongshuOrderStatus(d.OrderStatus); err != nil {
		t.Fatal(err)
	}
	// A fractional amount is not fen: refuse it rather than round.
	bad := strings.Replace(string(raw), `"totalPayAmount": 9000`, `"totalPayAmount": 90.5`, 1)
	if err := ark.ParseResponse(ark.MethodGetOrderDetail, 200, []byte(bad), &d); !errors.Is(err, ark.ErrMalformedResponse) {
		t.Fatalf("fractional amount: err %v, want ErrMalformedResponse", err)
	}
}

func TestParsePush(t *testing.T) {
	t.Parallel()
	body := `[{"msgTag":"msg_fulfillment_status_change","sellerId":"5a151","data":"{\"orderId\":\"P768291112062421411\",\"packageId\":\"P768291112062421411\",\"orderStatus\":9,\"updateTime\":1752812659421,\"packageStatus\":9}"},
	{"msgTag":"msg_fulfillment_seller_remark_change","sellerId":"5a151","data":"{\"sellerRemarkContent\":\"备注\",\"orderId\":\"P2\",\"updateTime\":1753175101977}"},
	{"msgTag":"msg_item_create","sellerId":"5a151","data":"{}"}]`
	msgs, probe, err := ark.ParsePush([]byte(body))
	if err != nil || probe || len(msgs) != 3 {
		t.Fatalf("ParsePush = %v, %v, %v", msgs, probe, err)
	}
	c, err := msgs[0].OrderChange()
	if err != nil || c.OrderID != "P768291112062421411" || c.OrderStatus != ark.StatusCancelled || c.UpdateTime != 1752812659421 {
		t.Fatalf("OrderChange = %+v, %v", c, err)
	}
	if c, err := msgs[1].OrderChange(); err != nil || c.OrderID != "P2" || c.OrderStatus != 0 {
		t.Fatalf("remark change = %+v, %v", c, err)
	}
	if msgs[2].IsOrderMessage() {
		t.Fatal("item message taken for an order message")
	}
	if _, err := msgs[2].OrderChange(); !errors.Is(err, ark.ErrMalformedPush) {
		t.Fatalf("item OrderChange err %v", err)
	}
	if _, probe, err := ark.ParsePush([]byte(` {"test":true} `)); err != nil || !probe {
		t.Fatalf("probe: %v %v", probe, err)
	}
	for _, bad := range []string{`{"test":false}`, `[{"sellerId":"x"}]`, `[`, `"x"`} {
		if _, _, err := ark.ParsePush([]byte(bad)); !errors.Is(err, ark.ErrMalformedPush) {
			t.Errorf("ParsePush(%s) err %v, want ErrMalformedPush", bad, err)
		}
	}
	bad := ark.PushMessage{MsgTag: ark.TagOrderStatusChange, Data: `{"orderStatus":1}`}
	if _, err := bad.OrderChange(); !errors.Is(err, ark.ErrMalformedPush) {
		t.Errorf("no orderId: err %v", err)
	}
	reply, _ := json.Marshal(ark.PushReply{Success: true})
	if string(reply) != `{"success":true,"error_code":0,"error_msg":""}` {
		t.Errorf("reply %s", reply)
	}
}
