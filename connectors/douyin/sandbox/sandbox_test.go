package sandbox_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
	"github.com/channelhub/channelhub/mapping"
)

// start is the tests' fixed wall clock.
var start = time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a sandbox behind an httptest server with a client that follows the
// sandbox's clock.
type env struct {
	clk *clock
	s   *sandbox.Server
	srv *httptest.Server
	c   *doudian.Client
	tok string
}

func newEnv(t *testing.T, cfg sandbox.Config) *env {
	t.Helper()
	e := &env{clk: &clock{t: start}}
	if cfg.Orders == 0 {
		cfg.Orders = 500
	}
	if cfg.Members == 0 {
		cfg.Members = 400
	}
	cfg.Now = e.clk.Now
	e.s = sandbox.New(cfg)
	e.srv = httptest.NewServer(e.s)
	t.Cleanup(e.srv.Close)
	e.c = e.client(t, e.s.Config().AppSecret, e.s.Now)
	e.tok, _ = e.s.IssueToken()
	return e
}

func (e *env) client(t *testing.T, secret string, now func() time.Time) *doudian.Client {
	t.Helper()
	c, err := doudian.New(doudian.Config{AppKey: e.s.Config().AppKey, AppSecret: secret, BaseURL: e.srv.URL, HTTPClient: e.srv.Client(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// raw sends a hand-built request straight to the handler and returns the
// envelope.
func (e *env) raw(t *testing.T, httpMethod, path string, q url.Values, body string) doudian.Response {
	t.Helper()
	r := httptest.NewRequest(httpMethod, path+"?"+q.Encode(), strings.NewReader(body))
	w := httptest.NewRecorder()
	e.s.ServeHTTP(w, r)
	var resp doudian.Response
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response %q: %v", w.Body.String(), err)
	}
	return resp
}

// signedQuery is a valid query for method and body at the sandbox's time.
func (e *env) signedQuery(method, body, ts string, m doudian.SignMethod) url.Values {
	cfg := e.s.Config()
	q := url.Values{}
	q.Set("app_key", cfg.AppKey)
	q.Set("method", method)
	q.Set("v", "2")
	q.Set("timestamp", ts)
	if m != "" {
		q.Set("sign_method", string(m))
	}
	q.Set("sign", doudian.Sign(m, cfg.AppSecret, doudian.SignParams{AppKey: cfg.AppKey, Method: method, ParamJSON: body, Timestamp: ts}))
	q.Set("access_token", e.tok)
	return q
}

func apiErr(t *testing.T, err error) *doudian.APIError {
	t.Helper()
	ae, ok := errors.AsType[*doudian.APIError](err)
	if !ok {
		t.Fatalf("want *doudian.APIError, got %v", err)
	}
	return ae
}

func TestGatewayChecks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	now := e.s.Now()
	unix := strconv.FormatInt(now.Unix(), 10)
	body := `{"shop_order_id":"` + e.s.OrderID(0) + `"}`
	const method = "order.orderDetail"
	valid := func() url.Values { return e.signedQuery(method, body, unix, doudian.SignHMACSHA256) }
	tests := []struct {
		name    string
		mutate  func(q url.Values) (path, body string)
		code    int
		subCode string
	}{
		{name: "valid hmac-sha256", mutate: func(url.Values) (string, string) { return "", "" }, code: doudian.CodeSuccess},
		{name: "valid md5 without sign_method", mutate: func(q url.Values) (string, string) {
			q.Del("sign_method")
			q.Set("sign", doudian.Sign(doudian.SignMD5, e.s.Config().AppSecret, doudian.SignParams{AppKey: q.Get("app_key"), Method: method, ParamJSON: body, Timestamp: unix}))
			return "", ""
		}, code: doudian.CodeSuccess},
		{name: "wall-clock timestamp in GMT+8", mutate: func(q url.Values) (string, string) {
			ts := mapping.FormatShanghai(now)
			q.Set("timestamp", ts)
			q.Set("sign", doudian.Sign(doudian.SignHMACSHA256, e.s.Config().AppSecret, doudian.SignParams{AppKey: q.Get("app_key"), Method: method, ParamJSON: body, Timestamp: ts}))
			return "", ""
		}, code: doudian.CodeSuccess},
		{name: "wrong sign", mutate: func(q url.Values) (string, string) { q.Set("sign", strings.Repeat("0", 64)); return "", "" }, code: 40003, subCode: doudian.SubSignatureInvalid},
		{name: "body changed after signing", mutate: func(url.Values) (string, string) { return "", `{"shop_order_id": "` + e.s.OrderID(0) + `"}` }, code: 40003, subCode: doudian.SubSignatureInvalid},
		{name: "sign method mismatch", mutate: func(q url.Values) (string, string) { q.Set("sign_method", "md5"); return "", "" }, code: 40003, subCode: doudian.SubSignatureInvalid},
		{name: "unknown sign method", mutate: func(q url.Values) (string, string) { q.Set("sign_method", "sha1"); return "", "" }, code: 40003, subCode: doudian.SubSignatureInvalid},
		{name: "missing sign", mutate: func(q url.Values) (string, string) { q.Del("sign"); return "", "" }, code: 40001, subCode: doudian.SubSignatureMissing},
		{name: "missing app_key", mutate: func(q url.Values) (string, string) { q.Del("app_key"); return "", "" }, code: 40001, subCode: doudian.SubAppIDMissing},
		{name: "app_key not 19 digits", mutate: func(q url.Values) (string, string) { q.Set("app_key", "12345"); return "", "" }, code: 40003, subCode: doudian.SubAppIDInvalid},
		{name: "unknown app_key", mutate: func(q url.Values) (string, string) { q.Set("app_key", "7999999999999999999"); return "", "" }, code: 40001, subCode: doudian.SubAppIDMissing},
		{name: "timestamp 11 minutes old", mutate: func(q url.Values) (string, string) {
			ts := strconv.FormatInt(now.Add(-11*time.Minute).Unix(), 10)
			q.Set("timestamp", ts)
			q.Set("sign", doudian.Sign(doudian.SignHMACSHA256, e.s.Config().AppSecret, doudian.SignParams{AppKey: q.Get("app_key"), Method: method, ParamJSON: body, Timestamp: ts}))
			return "", ""
		}, code: 40003, subCode: doudian.SubTimestampInvalid},
		{name: "timestamp garbage", mutate: func(q url.Values) (string, string) { q.Set("timestamp", "yesterday"); return "", "" }, code: 40003, subCode: doudian.SubTimestampFormat},
		{name: "missing access_token", mutate: func(q url.Values) (string, string) { q.Del("access_token"); return "", "" }, code: 40001, subCode: doudian.SubAccessTokenMissing},
		{name: "unknown access_token", mutate: func(q url.Values) (string, string) { q.Set("access_token", "nope"); return "", "" }, code: 40003, subCode: doudian.SubAccessTokenNotExist},
		{name: "method does not match path", mutate: func(url.Values) (string, string) { return "/order/searchList", "" }, code: 40003, subCode: doudian.SubParamFormatInvalid},
		{name: "unknown api", mutate: func(q url.Values) (string, string) { q.Set("method", "order.nothing"); return "/order/nothing", "" }, code: 70000, subCode: doudian.SubAPIServiceOff},
		{name: "v is not 2", mutate: func(q url.Values) (string, string) { q.Set("v", "1"); return "", "" }, code: 40003, subCode: doudian.SubParamFormatInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := valid()
			path, b := tt.mutate(q)
			if path == "" {
				path = doudian.MethodPath(method)
			}
			if b == "" {
				b = body
			}
			resp := e.raw(t, http.MethodPost, path, q, b)
			if resp.Code != tt.code || resp.SubCode != tt.subCode {
				t.Fatalf("code %d %q (%s), want %d %q", resp.Code, resp.SubCode, resp.SubMsg, tt.code, tt.subCode)
			}
			if resp.LogID == "" || resp.Msg == "" {
				t.Fatalf("envelope without log_id or msg: %+v", resp)
			}
		})
	}
}

func TestWrongSecretIsRejectedWithPlatformError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	bad := e.client(t, "not-the-secret", e.s.Now)
	_, err := bad.OrderDetail(t.Context(), e.tok, e.s.OrderID(0))
	ae := apiErr(t, err)
	if ae.Code != doudian.CodeInvalidParam || ae.SubCode != doudian.SubSignatureInvalid || ae.SubMsg != "签名校验失败" || !ae.AuthInvalid() {
		t.Fatalf("error = %+v", ae)
	}
}

func TestGetWithParamJSONInQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	body := `{"shop_order_id":"` + e.s.OrderID(3) + `"}`
	q := e.signedQuery("order.orderDetail", body, strconv.FormatInt(e.s.Now().Unix(), 10), doudian.SignMD5)
	q.Set("param_json", body)
	if resp := e.raw(t, http.MethodGet, "/order/orderDetail", q, ""); resp.Code != doudian.CodeSuccess {
		t.Fatalf("GET: %+v", resp)
	}
}

func TestBodyMustBeAnObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	for _, body := range []string{`[1,2]`, `{"a":`, ``} {
		q := e.signedQuery("order.orderDetail", body, strconv.FormatInt(e.s.Now().Unix(), 10), doudian.SignMD5)
		if resp := e.raw(t, http.MethodPost, "/order/orderDetail", q, body); resp.SubCode != doudian.SubParamFormatInvalid {
			t.Errorf("body %q: %+v", body, resp)
		}
	}
}
