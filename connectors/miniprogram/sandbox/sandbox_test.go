package sandbox_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/miniprogram"
	"github.com/channelhub/channelhub/connectors/miniprogram/sandbox"
	"github.com/channelhub/channelhub/connectors/sandboxdata"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newSandbox(t *testing.T) (*sandbox.Server, *httptest.Server, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}
	sb := sandbox.New(sandbox.Config{Members: 400, Now: c.Now})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return sb, srv, c
}

func post(t *testing.T, url string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d from %s", resp.StatusCode, url)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func errcode(m map[string]any) int {
	n, _ := m["errcode"].(float64)
	return int(n)
}

func token(t *testing.T, srv *httptest.Server, sb *sandbox.Server) string {
	t.Helper()
	cfg := sb.Config()
	m := post(t, srv.URL+sandbox.PathStableToken, map[string]any{"grant_type": "client_credential", "appid": cfg.AppID, "secret": cfg.AppSecret})
	tok, _ := m["access_token"].(string)
	if tok == "" {
		t.Fatalf("no token: %v", m)
	}
	return tok
}

func TestUsersFollowSandboxdata(t *testing.T) {
	t.Parallel()
	sb, _, _ := newSandbox(t)
	people := sandboxdata.Persons(1, 400)
	n := 0
	for _, p := range people {
		if p.On["miniprogram"] {
			n++
		}
	}
	us := sb.Users()
	if len(us) != n || n == 0 {
		t.Fatalf("%d users, want the %d people on miniprogram", len(us), n)
	}
	u := us[0]
	p := people[u.Person]
	if u.OpenID != "o"+sandboxdata.ID(1, "miniprogram", u.Person, 27) || u.UnionID != p.UnionID || u.Phone != p.Phone || len(u.OpenID) != 28 {
		t.Fatalf("user %+v does not match person %d", u, u.Person)
	}
	again := sandbox.New(sandbox.Config{Members: 400, Now: func() time.Time { return time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC) }})
	if a, b := sb.Orders(), again.Orders(); len(a) != len(b) || a[0] != b[0] || a[len(a)-1] != b[len(b)-1] {
		t.Fatal("the same seed and clock gave other orders")
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	sb, srv, _ := newSandbox(t)
	cfg := sb.Config()
	if m := post(t, srv.URL+sandbox.PathStableToken, map[string]any{"grant_type": "client_credential", "appid": cfg.AppID, "secret": "wrong"}); errcode(m) != sandbox.CodeInvalidSecret {
		t.Fatalf("wrong secret: %v", m)
	}
	list := func(tok string) map[string]any {
		return post(t, srv.URL+sandbox.PathOrderList+"?access_token="+tok, map[string]any{"page_size": 1})
	}
	if m := list(""); errcode(m) != sandbox.CodeTokenMissing {
		t.Fatalf("no token: %v", m)
	}
	if m := list("nope"); errcode(m) != sandbox.CodeInvalidToken || !strings.Contains(m["errmsg"].(string), " rid: ") {
		t.Fatalf("unknown token: %v", m)
	}
	tok := token(t, srv, sb)
	if tok2 := token(t, srv, sb); tok2 != tok {
		t.Fatal("stable_token handed out a new token while the old one is valid")
	}
	if m := list(tok); errcode(m) != 0 {
		t.Fatalf("good token: %v", m)
	}
	sb.ExpireTokens()
	if m := list(tok); errcode(m) != sandbox.CodeTokenExpired {
		t.Fatalf("expired token: %v", m)
	}
	tok = token(t, srv, sb)
	sb.RevokeTokens()
	if m := list(tok); errcode(m) != sandbox.CodeInvalidCredential {
		t.Fatalf("revoked token: %v", m)
	}
	sb.Inject(sandbox.PathOrderList, sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: sandbox.CodeDailyQuota})
	if m := list(token(t, srv, sb)); errcode(m) != sandbox.CodeDailyQuota {
		t.Fatalf("fault: %v", m)
	}
}

func TestPhoneCodes(t *testing.T) {
	t.Parallel()
	sb, srv, clk := newSandbox(t)
	tok := token(t, srv, sb)
	u := sb.Users()[0]
	code, _ := sb.IssuePhoneCode(u.OpenID)
	url := srv.URL + sandbox.PathPhoneNumber + "?access_token=" + tok
	m := post(t, url, map[string]string{"code": code})
	info, _ := m["phone_info"].(map[string]any)
	if errcode(m) != 0 || "+86"+info["purePhoneNumber"].(string) != u.Phone || info["countryCode"] != "86" {
		t.Fatalf("exchange: %v", m)
	}
	if wm, _ := info["watermark"].(map[string]any); wm["appid"] != sb.Config().AppID {
		t.Fatalf("watermark %v", info["watermark"])
	}
	if m := post(t, url, map[string]string{"code": code}); errcode(m) != sandbox.CodeInvalidCode {
		t.Fatalf("reused code: %v", m)
	}
	late, _ := sb.IssuePhoneCode(u.OpenID)
	clk.Add(sandbox.PhoneCodeTTL)
	if m := post(t, url, map[string]string{"code": late}); errcode(m) != sandbox.CodeInvalidCode {
		t.Fatalf("expired code: %v", m)
	}
}

func TestOrderListPaging(t *testing.T) {
	t.Parallel()
	sb, srv, clk := newSandbox(t)
	url := srv.URL + sandbox.PathOrderList + "?access_token=" + token(t, srv, sb)
	if m := post(t, url, map[string]any{"page_size": 51}); errcode(m) != sandbox.CodeBadJSON {
		t.Fatalf("page_size 51: %v", m)
	}
	all := sb.Orders()
	mid := all[len(all)/2].PayTime
	// Two windows that meet at mid, inclusive at both ends, read page by page.
	var got []string
	for _, w := range [][2]int64{{0, mid - 1}, {mid, clk.Now().Unix()}} {
		last := ""
		for {
			m := post(t, url, map[string]any{"pay_time_range": map[string]int64{"begin_time": w[0], "end_time": w[1]}, "page_size": 50, "last_index": last})
			if errcode(m) != 0 {
				t.Fatal(m)
			}
			for _, o := range m["order_list"].([]any) {
				got = append(got, o.(map[string]any)["merchant_trade_no"].(string))
			}
			if m["has_more"] != true {
				break
			}
			last = m["last_index"].(string)
		}
	}
	if len(got) != len(all) {
		t.Fatalf("paged %d orders, want %d", len(got), len(all))
	}
	for i, o := range all {
		if got[i] != o.MerchantTradeNo {
			t.Fatalf("order %d is %s, want %s", i, got[i], o.MerchantTradeNo)
		}
	}
}

func TestForHubConfigIsAValidConnection(t *testing.T) {
	t.Parallel()
	h, creds, conn := sandbox.ForHub(7, 200)
	if _, ok := conn["api_base"]; ok {
		t.Fatal("ForHub sets api_base; the registry does")
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn["api_base"] = srv.URL
	cfg, err := miniprogram.Spec.ParseConfig(conn)
	if err != nil {
		t.Fatal(err)
	}
	c, err := miniprogram.New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(t.Context()); err != nil {
		t.Fatalf("check against the sandbox: %v", err)
	}
	if creds["open_platform_id"] != sandboxdata.OpenPlatformID || creds["event_secret"] == "" {
		t.Fatalf("credentials %v", creds)
	}
	// The handler is the server, so the demo can play the brand backend.
	if _, ok := h.(*sandbox.Server); !ok {
		t.Fatalf("handler is %T", h)
	}
}
