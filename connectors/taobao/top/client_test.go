package top

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseResponseShapes(t *testing.T) {
	var flat TradesResult
	if err := ParseResponse(MethodTradesSoldGet, 200, []byte(`{"trades":[{"tid":1,"status":"TRADE_FINISHED","payment":"200.07"}],"total_results":1,"request_id":"r"}`), &flat); err != nil {
		t.Fatal(err)
	}
	if len(flat.Trades) != 1 || flat.Trades[0].Payment != "200.07" || flat.Trades[0].ID() != "1" {
		t.Fatalf("flat: %+v", flat)
	}
	var wrapped FullinfoResult
	if err := ParseResponse(MethodTradeFullinfoGet, 200, []byte(`{"trade_fullinfo_get_response":{"trade":{"tid":2,"tid_str":"2"}}}`), &wrapped); err != nil {
		t.Fatal(err)
	}
	if wrapped.Trade == nil || wrapped.Trade.ID() != "2" {
		t.Fatalf("wrapped: %+v", wrapped)
	}
	if ResponseName(MethodTradesSoldGet) != "trades_sold_get_response" || ResponseName("tmall.crm.member.point.change") != "tmall_crm_member_point_change_response" {
		t.Fatal("ResponseName")
	}
}

func TestParseErrorResponse(t *testing.T) {
	body := `{"error_response":{"code":7,"msg":"App Call Limited","sub_code":"accesscontrol.limited-by-api-access-count","sub_msg":"This ban will last for 12 more seconds","request_id":"abc"}}`
	err := ParseResponse(MethodTradesSoldGet, 200, []byte(body), nil)
	if !IsThrottled(err) || BanWaitOf(err) != 13*time.Second {
		t.Fatalf("err %v wait %s", err, BanWaitOf(err))
	}
	if IsUnavailable(err) || IsSessionExpired(err) {
		t.Fatal("throttle misclassed")
	}
	err = ParseResponse(MethodTradesSoldGet, 200, []byte(`{"error_response":{"code":27,"msg":"Invalid session","sub_code":"invalid-sessionkey"}}`), nil)
	if !IsSessionExpired(err) {
		t.Fatalf("27: %v", err)
	}
	err = ParseResponse(MethodTradesSoldGet, 200, []byte(`{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isp.unknown-error"}}`), nil)
	if !IsUnavailable(err) {
		t.Fatalf("isp: %v", err)
	}
	err = ParseResponse(MethodTradesSoldGet, 200, []byte(`{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isv.invalid-parameter"}}`), nil)
	if IsUnavailable(err) || IsThrottled(err) {
		t.Fatalf("isv: %v", err)
	}
	err = ParseResponse(MethodTradesSoldGet, 200, []byte(`{"error_response":{"code":25,"msg":"Invalid signature"}}`), nil)
	if !IsAuthInvalid(err) {
		t.Fatalf("25: %v", err)
	}
	err = ParseResponse(MethodTradesSoldGet, 502, []byte(`<html>bad gateway</html>`), nil)
	if !IsUnavailable(err) {
		t.Fatalf("502: %v", err)
	}
	err = ParseResponse(MethodTradesSoldGet, 200, []byte(`{"trades":[{"tid":`), &TradesResult{})
	if !IsUnavailable(err) || !errors.Is(err, ErrMalformedResponse) {
		t.Fatalf("malformed: %v", err)
	}
}

func TestParseBanWait(t *testing.T) {
	cases := map[string]time.Duration{
		"This ban will last for 12 more seconds": 13 * time.Second,
		"this ban will last 1 more second":       2 * time.Second,
		"This ban will last for 0 more seconds":  time.Second,
		"App Call Limited":                       DefaultBanWait,
		"":                                       DefaultBanWait,
		"This ban will last for 99999999999999999999 more seconds": DefaultBanWait,
	}
	for in, want := range cases {
		if got := ParseBanWait(in); got != want {
			t.Errorf("ParseBanWait(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCallSignsInShanghaiTimeAndKeepsSessionOutOfErrors(t *testing.T) {
	// A UTC clock: the timestamp must still be GMT+8.
	now := time.Date(2025, 6, 1, 0, 30, 0, 0, time.UTC)
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, _ = url.ParseQuery(string(b))
		_, _ = w.Write([]byte(`{"error_response":{"code":27,"msg":"Invalid session","sub_code":"invalid-sessionkey"}}`))
	}))
	defer srv.Close()
	c, err := New(Config{AppKey: "12345678", AppSecret: "helloworld", BaseURL: srv.URL, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Call(context.Background(), MethodTradesSoldGet, "SESSION-SECRET-123", SoldGet{PageNo: 1, PageSize: 40}.Params(), &TradesResult{})
	if !IsSessionExpired(err) || strings.Contains(err.Error(), "SESSION-SECRET-123") {
		t.Fatalf("err = %v", err)
	}
	if got.Get("timestamp") != "2025-06-01 08:30:00" || got.Get("sign_method") != "hmac-sha256" || got.Get("simplify") != "true" {
		t.Fatalf("params %v", got)
	}
	p := map[string]string{}
	for k := range got {
		p[k] = got.Get(k)
	}
	if want, _ := Sign(SignHMACSHA256, "helloworld", p); want != got.Get("sign") {
		t.Fatalf("sign %s, want %s", got.Get("sign"), want)
	}
	// A transport error names neither the session nor the secret.
	c2, _ := New(Config{AppKey: "k", AppSecret: "helloworld", BaseURL: "http://127.0.0.1:1/router/rest"})
	err = c2.Call(context.Background(), MethodTradesSoldGet, "SESSION-SECRET-123", nil, nil)
	if err == nil || !IsUnavailable(err) || strings.Contains(err.Error(), "SESSION-SECRET-123") || strings.Contains(err.Error(), "helloworld") {
		t.Fatalf("transport err = %v", err)
	}
}

func TestIncrementParamsAndLastPage(t *testing.T) {
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	p := IncrementGet{StartModified: start, EndModified: start.Add(time.Hour), PageNo: 3, PageSize: 50, UseHasNext: true}.Params()
	if p["start_modified"] != "2025-06-01 08:00:00" || p["end_modified"] != "2025-06-01 09:00:00" || p["page_no"] != "3" || p["use_has_next"] != "true" || p["fields"] != TradeFields {
		t.Fatalf("%v", p)
	}
	for _, c := range []struct {
		total int64
		size  int
		want  int
	}{{0, 50, 1}, {1, 50, 1}, {50, 50, 1}, {51, 50, 2}, {101, 50, 3}} {
		if got := LastPage(c.total, c.size); got != c.want {
			t.Errorf("LastPage(%d,%d) = %d, want %d", c.total, c.size, got, c.want)
		}
	}
}

func TestSPIRoundTrip(t *testing.T) {
	now := time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)
	body := []byte(`{"seller_name":"旗舰店","nick":"t**1","mobile":"13800138000","ouid":"ou1"}`)
	req, err := NewSPIRequest(context.Background(), "http://brand.example/spi", "12345678", "sec", SPIBind, body, now)
	if err != nil {
		t.Fatal(err)
	}
	spi, err := ParseSPI(req.URL.RawQuery, req.Header, body)
	if err != nil {
		t.Fatal(err)
	}
	if err := spi.Verify("12345678", "sec", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if spi.Method() != SPIBind {
		t.Fatal(spi.Method())
	}
	if err := spi.Verify("12345678", "other", now); !errors.Is(err, ErrSPISignature) {
		t.Fatalf("wrong secret: %v", err)
	}
	if err := spi.Verify("12345678", "sec", now.Add(10*time.Minute)); !errors.Is(err, ErrSPITimestamp) {
		t.Fatalf("stale: %v", err)
	}
	if err := spi.Verify("87654321", "sec", now); !errors.Is(err, ErrSPIApp) {
		t.Fatalf("app: %v", err)
	}
	forged, _ := ParseSPI(req.URL.RawQuery, req.Header, []byte(`{"mobile":"13900000000"}`))
	if err := forged.Verify("12345678", "sec", now); !errors.Is(err, ErrSPISignature) {
		t.Fatalf("forged body: %v", err)
	}
	m, err := spi.Member()
	if err != nil || m.Mobile != "13800138000" || m.OUID != "ou1" {
		t.Fatalf("%+v %v", m, err)
	}
	// Headers named in top-sign-list are signed too.
	h := http.Header{}
	h.Set(HeaderSignList, "x-extra")
	h.Set("x-extra", "v")
	p := map[string]string{}
	for k, v := range spi.Params {
		p[k] = v
	}
	p["x-extra"] = "v"
	q, _ := url.ParseQuery(req.URL.RawQuery)
	q.Set("sign", SPISign("sec", p, body))
	withHeader, _ := ParseSPI(q.Encode(), h, body)
	if err := withHeader.Verify("12345678", "sec", now); err != nil {
		t.Fatalf("header-signed: %v", err)
	}
}
