package doudian_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/mapping"
)

var t0 = time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC) // Unix 1700000000

// fake is a scripted gateway: it records requests and answers with body.
type fake struct {
	mu     sync.Mutex
	status int
	body   string
	reqs   []*http.Request
	bodies []string
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.bodies = append(f.bodies, string(b))
	status, body := f.status, f.body
	f.mu.Unlock()
	if status == 0 {
		status = 200
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func newFake(t *testing.T, status int, body string) (*fake, *doudian.Client) {
	t.Helper()
	f := &fake{status: status, body: body}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := doudian.New(doudian.Config{AppKey: vecAppKey, AppSecret: vecSecret, BaseURL: srv.URL, HTTPClient: srv.Client(), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []doudian.Config{
		{AppSecret: "s"},
		{AppKey: "k"},
		{AppKey: "k", AppSecret: "s", BaseURL: "not a url"},
		{AppKey: "k", AppSecret: "s", SignMethod: "sha1"},
	} {
		if _, err := doudian.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	f, c := newFake(t, 200, `{"code":10000,"msg":"success","data":{"page":0,"size":100,"total":0,"shop_order_list":[]}}`)
	_, err := c.OrderSearchList(t.Context(), "tok-123", doudian.OrderSearchListRequest{UpdateTimeStart: 1700000000, UpdateTimeEnd: 1700003600})
	if err != nil {
		t.Fatal(err)
	}
	r, body := f.reqs[0], f.bodies[0]
	q := r.URL.Query()
	checks := map[string]string{
		"path":         r.URL.Path,
		"http method":  r.Method,
		"app_key":      q.Get("app_key"),
		"method":       q.Get("method"),
		"v":            q.Get("v"),
		"timestamp":    q.Get("timestamp"),
		"sign_method":  q.Get("sign_method"),
		"access_token": q.Get("access_token"),
		"content-type": r.Header.Get("Content-Type"),
		"no-old-err":   r.Header.Get("x-open-no-old-err-code"),
		"body":         body,
		"sign":         q.Get("sign"),
	}
	want := map[string]string{
		"path":         "/order/searchList",
		"http method":  "POST",
		"app_key":      vecAppKey,
		"method":       "order.searchList",
		"v":            "2",
		"timestamp":    "1700000000",
		"sign_method":  "hmac-sha256",
		"access_token": "tok-123",
		"content-type": "application/json;charset=UTF-8",
		"no-old-err":   "1",
		"body":         vecParamJSON,                                                       // size defaulted to 100
		"sign":         "f3820e223d86e79b28448421a281fbb10451cff8f3acafec3b975fedc2f06320", // vector C3
	}
	for k, w := range want {
		if checks[k] != w {
			t.Errorf("%s = %q, want %q", k, checks[k], w)
		}
	}
	if _, ok := q["access_token"]; !ok {
		t.Error("access_token missing")
	}
}

func TestTokenAPIsSendNoAccessToken(t *testing.T) {
	t.Parallel()
	f, c := newFake(t, 200, `{"code":10000,"msg":"success","data":{"access_token":"a2","expires_in":604800,"refresh_token":"r2","scope":"SCOPE","shop_id":"12345","shop_name":"S","authority_id":"12345","auth_subject_type":"Shop"}}`)
	tok, err := c.RefreshToken(t.Context(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "a2" || tok.RefreshToken != "r2" || tok.ShopID != "12345" {
		t.Fatalf("token = %+v", tok)
	}
	if !tok.IssuedAt.Equal(t0) || !tok.ExpiresAt().Equal(t0.Add(doudian.AccessTokenTTL)) || !tok.RefreshExpiresAt().Equal(t0.Add(doudian.RefreshTokenTTL)) {
		t.Fatalf("token times issued %v expires %v refresh %v", tok.IssuedAt, tok.ExpiresAt(), tok.RefreshExpiresAt())
	}
	if _, err := c.CreateToken(t.Context(), doudian.CreateTokenParams{ShopID: 12345}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateToken(t.Context(), doudian.CreateTokenParams{Code: "c-1"}); err != nil {
		t.Fatal(err)
	}
	wantBodies := []string{
		`{"grant_type":"refresh_token","refresh_token":"r1"}`,
		`{"code":"","grant_type":"authorization_self","shop_id":12345}`,
		`{"code":"c-1","grant_type":"authorization_code"}`,
	}
	for i, r := range f.reqs {
		if _, ok := r.URL.Query()["access_token"]; ok {
			t.Errorf("%s sent an access_token", r.URL.Path)
		}
		if f.bodies[i] != wantBodies[i] {
			t.Errorf("%s body = %s, want %s", r.URL.Path, f.bodies[i], wantBodies[i])
		}
	}
	if _, err := c.CreateToken(t.Context(), doudian.CreateTokenParams{}); err == nil {
		t.Error("CreateToken without code or shop accepted")
	}
}

func TestResponseErrors(t *testing.T) {
	t.Parallel()
	type class struct{ throttled, expired, invalid, unavailable bool }
	tests := []struct {
		name   string
		status int
		body   string
		want   class
		api    bool // an *APIError (else *HTTPError)
	}{
		{name: "throttled", body: `{"code":60000,"msg":"触发限流，请稍后重试","sub_code":"","sub_msg":"","log_id":"L1"}`, want: class{throttled: true}, api: true},
		{name: "token expired", body: `{"code":40003,"msg":"非法的参数","sub_code":"isv.access-token-expired","sub_msg":"access_token已过期"}`, want: class{expired: true}, api: true},
		{name: "token gone", body: `{"code":40003,"msg":"非法的参数","sub_code":"isv.access-token-no-existed","sub_msg":"access_token不存在"}`, want: class{expired: true}, api: true},
		{name: "token of another app", body: `{"code":40003,"sub_code":"isv.access-token-invalid"}`, want: class{invalid: true}, api: true},
		{name: "bad signature", body: `{"code":40003,"sub_code":"isv.signature-invalid","sub_msg":"签名校验失败"}`, want: class{invalid: true}, api: true},
		{name: "refresh token expired", body: `{"code":50001,"sub_code":"dop.token-generate-failed:token-expired"}`, want: class{invalid: true}, api: true},
		{name: "refresh token not found", body: `{"code":50002,"sub_code":"isv.business-failed:31009"}`, want: class{invalid: true}, api: true},
		{name: "authorization revoked", body: `{"code":30001,"sub_code":"dop.authorization-no-existed"}`, want: class{invalid: true}, api: true},
		{name: "no permission for api", body: `{"code":30001,"sub_code":"isv.app-permissions-insufficient"}`, api: true},
		{name: "service unavailable", body: `{"code":20000,"sub_code":"isp.service-error:20004"}`, want: class{unavailable: true}, api: true},
		{name: "internal timeout", body: `{"code":20001}`, want: class{unavailable: true}, api: true},
		{name: "system busy as business error", body: `{"code":40004,"sub_code":"isv.parameter-invalid:20005"}`, want: class{unavailable: true}, api: true},
		{name: "member too frequent", body: `{"code":50002,"sub_code":"isv.business-failed:628145015"}`, want: class{throttled: true}, api: true},
		{name: "bad parameter", body: `{"code":40004,"sub_code":"isv.parameter-invalid:20008","sub_msg":"单次查询订单数超过限制"}`, api: true},
		{name: "http 502", status: 502, body: `<html>bad gateway</html>`, want: class{unavailable: true}},
		{name: "http 429", status: 429, body: ``, want: class{throttled: true, unavailable: true}},
		{name: "http 404", status: 404, body: `not found`},
		{name: "malformed json", body: `{"code":10000,"data":`, want: class{unavailable: true}},
		{name: "not an envelope", body: `{"hello":"world"}`, want: class{unavailable: true}},
		{name: "data of the wrong shape", body: `{"code":10000,"msg":"success","data":{"total":"many"}}`, want: class{unavailable: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, c := newFake(t, tt.status, tt.body)
			_, err := c.OrderSearchList(t.Context(), "tok", doudian.OrderSearchListRequest{UpdateTimeStart: 1})
			if err == nil {
				t.Fatal("no error")
			}
			got := class{doudian.IsThrottled(err), doudian.IsAuthExpired(err), doudian.IsAuthInvalid(err), doudian.IsUnavailable(err)}
			if got != tt.want {
				t.Errorf("class = %+v, want %+v (err %v)", got, tt.want, err)
			}
			ae, isAPI := errors.AsType[*doudian.APIError](err)
			_, isHTTP := errors.AsType[*doudian.HTTPError](err)
			if isAPI != tt.api || isHTTP == tt.api {
				t.Fatalf("error type %T, want APIError %v", err, tt.api)
			}
			if isAPI && (ae.Method != doudian.MethodOrderSearchList || ae.Code == 0) {
				t.Errorf("APIError = %+v", ae)
			}
		})
	}
}

func TestAPIErrorFields(t *testing.T) {
	t.Parallel()
	_, c := newFake(t, 200, `{"code":40004,"msg":"非法的参数","sub_code":"isv.parameter-invalid:20013","sub_msg":"订单查询最多支持查询5万","log_id":"202311142213200001"}`)
	_, err := c.OrderSearchList(t.Context(), "tok", doudian.OrderSearchListRequest{UpdateTimeStart: 1})
	ae, ok := errors.AsType[*doudian.APIError](err)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	want := doudian.APIError{Method: "order.searchList", Code: 40004, Msg: "非法的参数", SubCode: doudian.SubOrderTooDeep, SubMsg: "订单查询最多支持查询5万", LogID: "202311142213200001"}
	if *ae != want {
		t.Fatalf("APIError = %+v, want %+v", *ae, want)
	}
	for _, s := range []string{"order.searchList", "40004", "isv.parameter-invalid:20013", "202311142213200001"} {
		if !strings.Contains(ae.Error(), s) {
			t.Errorf("Error() = %q lacks %q", ae.Error(), s)
		}
	}
}

func TestTransportErrorsHideTheToken(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := doudian.New(doudian.Config{AppKey: vecAppKey, AppSecret: vecSecret, BaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.OrderDetail(t.Context(), "secret-token-xyz", "1")
	if err == nil || strings.Contains(err.Error(), "secret-token-xyz") || strings.Contains(err.Error(), vecSecret) {
		t.Fatalf("err = %v", err)
	}
	if !doudian.IsUnavailable(err) {
		t.Fatalf("connection refused is not unavailable: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.OrderDetail(ctx, "secret-token-xyz", "1")
	if err == nil || doudian.IsUnavailable(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: err = %v, unavailable %v", err, doudian.IsUnavailable(err))
	}
}

func TestLocalValidation(t *testing.T) {
	t.Parallel()
	f, c := newFake(t, 200, `{"code":10000}`)
	if _, err := c.OrderSearchList(t.Context(), "tok", doudian.OrderSearchListRequest{UpdateTimeStart: 1, Size: 101}); err == nil {
		t.Error("size 101 accepted")
	}
	if _, err := c.OrderSearchList(t.Context(), "tok", doudian.OrderSearchListRequest{UpdateTimeStart: 1, Page: -1}); err == nil {
		t.Error("page -1 accepted")
	}
	six := make([]doudian.MemberUpdate, 6)
	if err := c.MemberBatchUpdate(t.Context(), "tok", doudian.MemberBatchUpdateRequest{AppID: 1, Members: six}); err == nil {
		t.Error("6 members accepted")
	}
	if len(f.reqs) != 0 {
		t.Errorf("%d requests sent for invalid calls", len(f.reqs))
	}
}

func TestMemberBatchUpdateBody(t *testing.T) {
	t.Parallel()
	f, c := newFake(t, 200, `{"code":10000,"msg":"success","data":{}}`)
	err := c.MemberBatchUpdate(t.Context(), "tok", doudian.MemberBatchUpdateRequest{AppID: 7, Members: []doudian.MemberUpdate{
		{OpenID: "o1", UnionID: "u1", Level: new(int64(3)), PointCent: new(int64(-111))},
		{OpenID: "o2", Unbind: new(true)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"app_id":7,"member_info_list":[{"level":3,"open_id":"o1","pointCent":-111,"union_id":"u1"},{"open_id":"o2","unbind":true}]}`
	if f.bodies[0] != want {
		t.Fatalf("body = %s, want %s", f.bodies[0], want)
	}
}

func TestSplitWindow(t *testing.T) {
	t.Parallel()
	day := doudian.Window{Start: t0, End: t0.Add(24 * time.Hour)}
	tests := []struct {
		name  string
		w     doudian.Window
		total int64
		parts int
	}{
		{"within the cap", day, doudian.MaxReachableRows, 1},
		{"just over", day, doudian.MaxReachableRows + 1, 4},
		{"three times", day, 3 * doudian.MaxReachableRows, 6},
		{"one second cannot split", doudian.Window{Start: t0, End: t0.Add(time.Second)}, 1e6, 1},
		{"three seconds split at most three ways", doudian.Window{Start: t0, End: t0.Add(3 * time.Second)}, 1e6, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := doudian.SplitWindow(tt.w, tt.total)
			if len(got) != tt.parts {
				t.Fatalf("%d parts, want %d: %v", len(got), tt.parts, got)
			}
			if !got[0].Start.Equal(tt.w.Start) || !got[len(got)-1].End.Equal(tt.w.End) {
				t.Fatalf("parts %v do not span %v", got, tt.w)
			}
			for i := 1; i < len(got); i++ {
				if !got[i].Start.Equal(got[i-1].End) || !got[i].End.After(got[i].Start) {
					t.Fatalf("parts %d and %d do not meet: %v", i-1, i, got)
				}
			}
		})
	}
}

func TestSearchResultPaging(t *testing.T) {
	t.Parallel()
	tests := []struct {
		page, size, total int64
		more, truncated   bool
	}{
		{0, 100, 0, false, false},
		{0, 100, 100, false, false},
		{0, 100, 101, true, false},
		{498, 100, 60000, true, true},
		{499, 100, 60000, false, true},
	}
	for _, tt := range tests {
		r := doudian.OrderSearchListResult{Page: tt.page, Size: tt.size, Total: tt.total}
		if r.More() != tt.more || r.Truncated() != tt.truncated {
			t.Errorf("%+v: More %v Truncated %v, want %v %v", tt, r.More(), r.Truncated(), tt.more, tt.truncated)
		}
	}
}

func TestUpdatedIn(t *testing.T) {
	t.Parallel()
	r := doudian.UpdatedIn(doudian.Window{Start: t0, End: t0.Add(time.Hour)}, 2, 0)
	want := doudian.OrderSearchListRequest{UpdateTimeStart: 1700000000, UpdateTimeEnd: 1700003600, OrderBy: "update_time", OrderAsc: true, Page: 2, Size: 100}
	if r.UpdateTimeStart != want.UpdateTimeStart || r.UpdateTimeEnd != want.UpdateTimeEnd || r.OrderBy != want.OrderBy || r.OrderAsc != want.OrderAsc || r.Page != want.Page || r.Size != want.Size {
		t.Fatalf("UpdatedIn = %+v", r)
	}
}

func TestEveryOrderStatusMaps(t *testing.T) {
	t.Parallel()
	for _, code := range []int{doudian.OrderStatusCreated, doudian.OrderStatusPaid, doudian.OrderStatusAwaitingShipment, doudian.OrderStatusPartlyShipped, doudian.OrderStatusShipped, doudian.OrderStatusCancelled, doudian.OrderStatusCompleted} {
		if s, err := mapping.DouyinOrderStatus(code); err != nil || s == mapping.OrderUnknown {
			t.Errorf("order_status %d maps to %v, %v", code, s, err)
		}
	}
}

func TestTokenErrorsHideTokens(t *testing.T) {
	t.Parallel()
	_, c := newFake(t, 200, `{"code":10000,"msg":"success","data":{"access_token":"SECRET-A","refresh_token":"SECRET-R","expires_in":"soon"}}`)
	_, err := c.RefreshToken(t.Context(), "r1")
	if err == nil || !errors.Is(err, doudian.ErrMalformedResponse) || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("err = %v", err)
	}
}

func TestEarliestStart(t *testing.T) {
	t.Parallel()
	got := doudian.EarliestStart(t0)
	if want := t0.Add(-90*24*time.Hour + 10*time.Minute); !got.Equal(want) {
		t.Fatalf("EarliestStart = %v, want %v", got, want)
	}
}
