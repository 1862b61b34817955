package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao/sandbox"
	"github.com/channelhub/channelhub/connectors/taobao/top"
)

var t0 = time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)

func setup(t *testing.T, now func() time.Time) (*sandbox.Server, *httptest.Server) {
	t.Helper()
	sb := sandbox.New(sandbox.Config{Members: 200, Orders: 200, Now: now})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return sb, srv
}

func client(t *testing.T, sb *sandbox.Server, srv *httptest.Server, secret string, now func() time.Time) *top.Client {
	t.Helper()
	c, err := top.New(top.Config{AppKey: sb.Config().AppKey, AppSecret: secret, BaseURL: srv.URL, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func code(err error) int {
	var ae *top.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

func TestRouterChecks(t *testing.T) {
	now := func() time.Time { return t0 }
	sb, srv := setup(t, now)
	ctx := context.Background()
	sess := sb.Config().Session
	good := client(t, sb, srv, sb.Config().AppSecret, now)
	var res top.TradesResult
	if err := good.Call(ctx, top.MethodTradesSoldGet, sess, top.SoldGet{PageNo: 1, PageSize: 10}.Params(), &res); err != nil || len(res.Trades) != 10 || res.TotalResults == 0 {
		t.Fatalf("sold.get: %v %d", err, len(res.Trades))
	}
	if err := client(t, sb, srv, "wrong", now).Call(ctx, top.MethodTradesSoldGet, sess, top.SoldGet{}.Params(), nil); code(err) != top.CodeInvalidSignature {
		t.Fatalf("wrong secret: %v", err)
	}
	skewed := client(t, sb, srv, sb.Config().AppSecret, func() time.Time { return t0.Add(11 * time.Minute) })
	if err := skewed.Call(ctx, top.MethodTradesSoldGet, sess, top.SoldGet{}.Params(), nil); code(err) != top.CodeInvalidTimestamp {
		t.Fatalf("skew: %v", err)
	}
	if err := good.Call(ctx, top.MethodTradesSoldGet, "nope", top.SoldGet{}.Params(), nil); !top.IsSessionExpired(err) {
		t.Fatalf("bad session: %v", err)
	}
	span := top.IncrementGet{StartModified: t0.Add(-25 * time.Hour), EndModified: t0}
	if err := good.Call(ctx, top.MethodTradesSoldIncrementGet, sess, span.Params(), nil); code(err) != top.CodeInvalidArguments {
		t.Fatalf("span: %v", err)
	}
	if err := good.Call(ctx, top.MethodTradeFullinfoGet, sess, map[string]string{"tid": sb.TID(0)}, nil); code(err) != top.CodeMissingRequired {
		t.Fatalf("fields: %v", err)
	}
	if err := good.Call(ctx, "taobao.no.such", sess, nil, nil); code(err) != top.CodeInvalidMethod {
		t.Fatalf("method: %v", err)
	}
}

func TestWrappedAnswerAndSignatureCase(t *testing.T) {
	now := func() time.Time { return t0 }
	sb, srv := setup(t, now)
	c := client(t, sb, srv, sb.Config().AppSecret, now)
	form, err := c.Params(top.MethodTradeFullinfoGet, sb.Config().Session, top.FullinfoParams(sb.TID(3), ""))
	if err != nil {
		t.Fatal(err)
	}
	form.Del("simplify")
	p := map[string]string{}
	for k := range form {
		p[k] = form.Get(k)
	}
	sign, _ := top.Sign(top.SignHMACSHA256, sb.Config().AppSecret, p)
	form.Set("sign", sign)
	body := post(t, srv.URL, form)
	if !strings.HasPrefix(body, `{"trade_fullinfo_get_response":{`) {
		t.Fatalf("not wrapped: %s", body)
	}
	var out top.FullinfoResult
	if err := top.ParseResponse(top.MethodTradeFullinfoGet, 200, []byte(body), &out); err != nil || out.Trade.ID() != sb.TID(3) {
		t.Fatalf("%v %+v", err, out)
	}
	form.Set("sign", strings.ToLower(sign))
	if body := post(t, srv.URL, form); !strings.Contains(body, `"code":25`) {
		t.Fatalf("lower-case sign accepted: %s", body)
	}
}

func post(t *testing.T, u string, form url.Values) string {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestQPSThrottle(t *testing.T) {
	now := func() time.Time { return t0 }
	sb := sandbox.New(sandbox.Config{Members: 50, Orders: 20, QPS: 2, Now: now})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	c := client(t, sb, srv, sb.Config().AppSecret, now)
	var last error
	for range 3 {
		last = c.Call(context.Background(), top.MethodTradesSoldGet, sb.Config().Session, top.SoldGet{}.Params(), nil)
	}
	if !top.IsThrottled(last) || top.BanWaitOf(last) != 2*time.Second || sb.Throttled() != 1 {
		t.Fatalf("%v %s", last, top.BanWaitOf(last))
	}
}

func TestForHub(t *testing.T) {
	h, creds, conn := sandbox.ForHub(7, 100)
	if h == nil || creds["app_secret"] == "" {
		t.Fatal("ForHub")
	}
	if _, ok := conn["api_base"]; ok {
		t.Fatal("api_base set")
	}
	for _, k := range []string{"app_key", "app_secret", "session", "shop", "brand"} {
		if conn[k] == nil {
			t.Fatalf("conn lacks %s", k)
		}
	}
	b, _ := json.Marshal(conn)
	if !json.Valid(b) {
		t.Fatal("conn not JSON")
	}
}

// TestPointChangeAnswers: the first answer to a point change decides (a
// failed change is rolled back from the Tmall balance); later answers are
// recorded and change nothing; an unknown record or a failure without a code
// is refused.
func TestPointChangeAnswers(t *testing.T) {
	now := func() time.Time { return t0 }
	sb, srv := setup(t, now)
	c := client(t, sb, srv, sb.Config().AppSecret, now)
	m := sb.BrandMembers()[0]
	rec := sb.PublishPointChange(m.OUID, -30, "兑换")
	balance := func() int64 {
		got, _ := sb.MemberByOUID(m.OUID)
		return got.Point
	}
	if balance() != m.Point-30 {
		t.Fatalf("balance %d after the change, want %d", balance(), m.Point-30)
	}
	answer := func(a top.PointChangeAnswer) error {
		return c.Call(context.Background(), top.MethodMeiPointChangeCallback, sb.Config().Session, a.Params(), &top.FlagResult{})
	}
	if err := answer(top.PointChangeAnswer{RecordID: rec, Result: top.PointChangeFailed}); code(err) != top.CodeMissingRequired {
		t.Fatalf("failed answer without error_code: %v", err)
	}
	if err := answer(top.PointChangeAnswer{RecordID: "PC-NONE", Result: top.PointChangeDone}); code(err) != top.CodeInvalidArguments {
		t.Fatalf("answer to an unknown change: %v", err)
	}
	if err := answer(top.PointChangeAnswer{RecordID: rec, Result: top.PointChangeFailed, ErrorCode: "X"}); err != nil {
		t.Fatal(err)
	}
	if err := answer(top.PointChangeAnswer{RecordID: rec, Result: top.PointChangeFailed, ErrorCode: "X"}); err != nil {
		t.Fatal(err)
	}
	if balance() != m.Point || len(sb.PointAnswers(rec)) != 2 {
		t.Fatalf("balance %d (want %d rolled back once), %d answers", balance(), m.Point, len(sb.PointAnswers(rec)))
	}
}
