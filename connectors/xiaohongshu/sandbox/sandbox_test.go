package sandbox_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/connectors/xiaohongshu/sandbox"
	"github.com/channelhub/channelhub/mapping"
)

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

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

// env is a sandbox behind httptest with a client and a live token.
type env struct {
	clk    *clock
	sb     *sandbox.Server
	srv    *httptest.Server
	client *ark.Client
	token  ark.Token
}

func newEnv(t *testing.T, cfg sandbox.Config) *env {
	t.Helper()
	e := &env{clk: newClock()}
	if cfg.Now == nil {
		cfg.Now = e.clk.Now
	}
	e.sb = sandbox.New(cfg)
	e.srv = httptest.NewServer(e.sb)
	t.Cleanup(e.srv.Close)
	e.client = e.newClient(t, e.sb.Config().AppSecret)
	e.token = e.sb.IssueToken()
	return e
}

func (e *env) newClient(t *testing.T, secret string) *ark.Client {
	t.Helper()
	c, err := ark.New(ark.Config{AppID: e.sb.Config().AppID, AppSecret: secret, BaseURL: e.srv.URL, HTTPClient: e.srv.Client(), Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// post sends a raw body to the gateway and decodes the envelope.
func (e *env) post(t *testing.T, body map[string]any) ark.Response {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.srv.Client().Post(e.srv.URL+ark.EndpointPath, "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out ark.Response
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("HTTP %d: %v", resp.StatusCode, err)
	}
	return out
}

// signed returns a correctly signed body for method with params merged in.
func (e *env) signed(method string, params map[string]any) map[string]any {
	cfg := e.sb.Config()
	ts := "1700000000"
	body := map[string]any{
		"appId": cfg.AppID, "timestamp": ts, "version": "2.0", "method": method,
		"sign":        ark.Sign(cfg.AppSecret, ark.SignParams{Method: method, AppID: cfg.AppID, Timestamp: ts}),
		"accessToken": e.token.AccessToken,
	}
	for k, v := range params {
		body[k] = v
	}
	return body
}

func apiCode(err error) int {
	if ae, ok := errors.AsType[*ark.APIError](err); ok {
		return ae.Code
	}
	return 1 // not an APIError
}

func TestGatewayRejectsBadRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 10, Members: 50})
	ok := e.signed(ark.MethodGetOrderDetail, map[string]any{"orderId": e.sb.OrderIDs()[0]})
	with := func(k string, v any) map[string]any {
		b := e.signed(ark.MethodGetOrderDetail, map[string]any{"orderId": e.sb.OrderIDs()[0]})
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	tests := []struct {
		name string
		body map[string]any
		code int
	}{
		{"ok", ok, 0},
		{"wrong sign", with("sign", "0123456789abcdef0123456789abcdef"), ark.CodeNoPermission},
		{"sign of another timestamp", with("timestamp", "1700000001"), ark.CodeNoPermission},
		{"unknown app", with("appId", "other"), ark.CodeNoPermission},
		{"no sign", with("sign", nil), ark.CodeBadParams},
		{"no timestamp", with("timestamp", nil), ark.CodeBadParams},
		{"ms timestamp text", with("timestamp", "17e8"), ark.CodeBadParams},
		{"old version", with("version", "1.0"), ark.CodeBadParams},
		{"no method", with("method", nil), ark.CodeBadParams},
		{"no access token", with("accessToken", nil), ark.CodeAccessTokenInvalid},
		{"unknown access token", with("accessToken", "token-nope"), ark.CodeAccessTokenInvalid},
		{"unknown order", with("orderId", "P000"), ark.CodeOrderNotFound},
		{"no order id", with("orderId", nil), ark.CodeBadParams},
	}
	for _, tt := range tests {
		got := e.post(t, tt.body)
		if got.Success != (tt.code == 0) || got.ErrorCode != tt.code {
			t.Errorf("%s: success %v error_code %d (%s), want %d", tt.name, got.Success, got.ErrorCode, got.ErrorMsg, tt.code)
		}
	}
	// Unknown method, correctly signed.
	if got := e.post(t, e.signed("order.nope", nil)); got.ErrorCode != ark.CodeBadParams {
		t.Errorf("unknown method: %+v", got)
	}
	// Not JSON, wrong verb, wrong path.
	resp, err := e.srv.Client().Post(e.srv.URL+ark.EndpointPath, "application/json", strings.NewReader("appId=x"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `"error_code":-1000400`) {
		t.Errorf("form body: %s", raw)
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, ark.EndpointPath, http.StatusMethodNotAllowed},
		{http.MethodPost, "/ark/open_api/v1/items", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: HTTP %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
	// The client with a wrong secret gets the same, classed as auth-invalid.
	_, err = e.newClient(t, "wrong-secret").GetOrderDetail(t.Context(), e.token.AccessToken, e.sb.OrderIDs()[0])
	if apiCode(err) != ark.CodeNoPermission || !ark.IsAuthInvalid(err) {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestTokenLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 5, Members: 20})
	ctx := t.Context()
	order := e.sb.OrderIDs()[0]
	detail := func(tok string) error {
		_, err := e.client.GetOrderDetail(ctx, tok, order)
		return err
	}

	// Code exchange: the same pair within the code's 10 minutes.
	code := e.sb.AuthCode()
	tok, err := e.client.GetAccessToken(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if tok.SellerID != sandbox.DefaultSellerID || tok.SellerName == "" || !strings.HasPrefix(tok.AccessToken, "token-") || !strings.HasPrefix(tok.RefreshToken, "refresh-") {
		t.Fatalf("token %+v", tok)
	}
	if got := tok.AccessTokenExpiresAt.Time().Sub(e.clk.Now()); got != 7*24*time.Hour {
		t.Fatalf("access TTL %s", got)
	}
	if got := tok.RefreshTokenExpiresAt.Time().Sub(e.clk.Now()); got != 14*24*time.Hour {
		t.Fatalf("refresh TTL %s", got)
	}
	e.clk.Add(9 * time.Minute)
	if again, err := e.client.GetAccessToken(ctx, code); err != nil || again != tok {
		t.Fatalf("re-exchange: %+v, %v; want the same pair", again, err)
	}
	e.clk.Add(time.Minute)
	if _, err := e.client.GetAccessToken(ctx, code); apiCode(err) != ark.CodeGrantInvalid || !ark.IsAuthInvalid(err) {
		t.Fatalf("expired code: %v", err)
	}
	if _, err := e.client.GetAccessToken(ctx, "code-unknown"); apiCode(err) != ark.CodeGrantInvalid {
		t.Fatalf("unknown code: %v", err)
	}
	if err := detail(tok.AccessToken); err != nil {
		t.Fatal(err)
	}

	// Refresh with more than 30 min left: nothing changes.
	same, err := e.client.RefreshToken(ctx, tok.RefreshToken)
	if err != nil || same != tok {
		t.Fatalf("early refresh: %+v, %v; want the same pair", same, err)
	}
	if tok.NeedsRefresh(e.clk.Now()) {
		t.Fatal("NeedsRefresh too early")
	}

	// Within 30 min of expiry: a new pair; the old token works 5 more minutes.
	e.clk.Add(tok.AccessTokenExpiresAt.Time().Sub(e.clk.Now()) - 20*time.Minute)
	if !tok.NeedsRefresh(e.clk.Now()) {
		t.Fatal("NeedsRefresh should be true 20 min before expiry")
	}
	next, err := e.client.RefreshToken(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if next.AccessToken == tok.AccessToken || next.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh did not rotate: %+v", next)
	}
	if got := next.AccessTokenExpiresAt.Time().Sub(e.clk.Now()); got != 7*24*time.Hour {
		t.Fatalf("new access TTL %s", got)
	}
	if _, err := e.client.RefreshToken(ctx, tok.RefreshToken); apiCode(err) != ark.CodeGrantInvalid || !ark.IsAuthInvalid(err) {
		t.Fatalf("rotated-away refresh token: %v", err)
	}
	e.clk.Add(4 * time.Minute)
	if err := detail(tok.AccessToken); err != nil {
		t.Fatalf("old token within grace: %v", err)
	}
	e.clk.Add(time.Minute)
	if err := detail(tok.AccessToken); apiCode(err) != ark.CodeAccessTokenInvalid || !ark.IsAuthExpired(err) {
		t.Fatalf("old token after grace: %v", err)
	}
	if err := detail(next.AccessToken); err != nil {
		t.Fatal(err)
	}

	// Expiry: the access token after 7 days, the refresh token after 14.
	e.clk.Add(7 * 24 * time.Hour)
	if err := detail(next.AccessToken); !ark.IsAuthExpired(err) {
		t.Fatalf("expired access token: %v", err)
	}
	third, err := e.client.RefreshToken(ctx, next.RefreshToken)
	if err != nil || third.AccessToken == next.AccessToken {
		t.Fatalf("refresh after expiry: %+v, %v", third, err)
	}
	e.clk.Add(15 * 24 * time.Hour)
	if _, err := e.client.RefreshToken(ctx, third.RefreshToken); !ark.IsAuthInvalid(err) {
		t.Fatalf("expired refresh token: %v", err)
	}

	// ExpireTokens ends every access token now.
	fresh := e.sb.IssueToken()
	e.sb.ExpireTokens()
	if err := detail(fresh.AccessToken); !ark.IsAuthExpired(err) {
		t.Fatalf("after ExpireTokens: %v", err)
	}
	if _, err := e.client.RefreshToken(ctx, fresh.RefreshToken); err != nil {
		t.Fatalf("refresh after ExpireTokens: %v", err)
	}
}

func TestWindowAndPagingLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 50, Members: 100})
	start := e.clk.Now().Add(-48 * time.Hour).Unix()
	tests := []struct {
		name   string
		params map[string]any
		code   int
	}{
		{"created 24h", map[string]any{"startTime": start, "endTime": start + 86400, "timeType": 1}, 0},
		{"created 24h+1s", map[string]any{"startTime": start, "endTime": start + 86401, "timeType": 1}, ark.CodeBadParams},
		{"updated 30m", map[string]any{"startTime": start, "endTime": start + 1800, "timeType": 2}, 0},
		{"updated 30m+1s", map[string]any{"startTime": start, "endTime": start + 1801, "timeType": 2}, ark.CodeBadParams},
		{"end before start", map[string]any{"startTime": start, "endTime": start - 1, "timeType": 1}, ark.CodeBadParams},
		{"no time type", map[string]any{"startTime": start, "endTime": start + 1}, ark.CodeBadParams},
		{"time type 3", map[string]any{"startTime": start, "endTime": start + 1, "timeType": 3}, ark.CodeBadParams},
		{"no start", map[string]any{"endTime": start + 1, "timeType": 1}, ark.CodeBadParams},
		{"start as text", map[string]any{"startTime": "x", "endTime": start + 1, "timeType": 1}, ark.CodeBadParams},
		{"page 100", map[string]any{"startTime": start, "endTime": start + 1, "timeType": 1, "pageNo": 100}, 0},
		{"page 101", map[string]any{"startTime": start, "endTime": start + 1, "timeType": 1, "pageNo": 101}, ark.CodeBadParams},
		{"size 100", map[string]any{"startTime": start, "endTime": start + 1, "timeType": 1, "pageSize": 100}, 0},
		{"size 101", map[string]any{"startTime": start, "endTime": start + 1, "timeType": 1, "pageSize": 101}, ark.CodeBadParams},
		{"status 11", map[string]any{"startTime": start, "endTime": start + 1, "timeType": 1, "orderStatus": 11}, ark.CodeBadParams},
		{"type 6", map[string]any{"startTime": start, "endTime": start + 1, "timeType": 1, "orderType": 6}, ark.CodeBadParams},
	}
	for _, tt := range tests {
		// Call skips the client-side checks, so the sandbox's own are tested.
		err := e.client.Call(t.Context(), ark.MethodGetOrderList, e.token.AccessToken, tt.params, nil)
		if tt.code == 0 && err != nil || tt.code != 0 && apiCode(err) != tt.code {
			t.Errorf("%s: %v, want code %d", tt.name, err, tt.code)
		}
	}
	// The typed helper refuses the same windows before sending.
	before := e.sb.Stats().Requests
	_, err := e.client.GetOrderList(t.Context(), e.token.AccessToken, ark.OrderListRequest{
		Start: time.Unix(start, 0), End: time.Unix(start+1801, 0), TimeType: ark.TimeUpdated,
	})
	if !errors.Is(err, ark.ErrInvalidRequest) || e.sb.Stats().Requests != before {
		t.Fatalf("helper sent an over-long window: %v", err)
	}
}

func TestPagingReturnsEachOrderOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 3000, Members: 800, History: 3 * 24 * time.Hour})
	ctx := t.Context()
	all := e.sb.OrderIDs()
	from, to := e.clk.Now().Add(-4*24*time.Hour), e.clk.Now()

	for _, tt := range []ark.TimeType{ark.TimeCreated, ark.TimeUpdated} {
		seen := map[string]int{}
		var last ark.Millis
		windows := 0
		err := e.client.ScanOrders(ctx, e.token.AccessToken, ark.ScanRequest{Start: from, End: to, TimeType: tt}, func(p ark.ScanPage) error {
			if p.Window.End.Sub(p.Window.Start) > tt.MaxWindow() {
				t.Errorf("%s: window %v too long", tt, p.Window)
			}
			for _, o := range p.Orders {
				seen[o.OrderID]++
				if tt == ark.TimeCreated && o.CreatedTime < last {
					t.Errorf("created scan out of order at %s", o.OrderID)
				}
				last = o.CreatedTime
				if ts := o.TimeOf(tt).Time(); ts.Before(p.Window.Start) || ts.After(p.Window.End.Add(999*time.Millisecond)) {
					t.Errorf("%s: order %s at %v outside window %v", tt, o.OrderID, ts, p.Window)
				}
			}
			if p.Done {
				windows++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != len(all) {
			t.Errorf("%s scan: %d distinct orders, want %d", tt, len(seen), len(all))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s scan: %s came %d times", tt, id, n)
			}
		}
		if want := len(ark.SplitWindow(from, to, tt.MaxWindow())); windows != want {
			t.Errorf("%s scan: %d windows done, want %d", tt, windows, want)
		}
	}

	// Manual paging with an odd page size: pages partition the window.
	req := ark.OrderListRequest{Start: to.Add(-24 * time.Hour), End: to, TimeType: ark.TimeCreated, PageSize: 97, PageNo: 1}
	first, err := e.client.GetOrderList(ctx, e.token.AccessToken, req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Total < 200 || first.MaxPageNo != (first.Total+96)/97 || first.PageSize != 97 || first.PageNo != 1 {
		t.Fatalf("first page: total %d maxPageNo %d", first.Total, first.MaxPageNo)
	}
	got := map[string]bool{}
	for p := 1; p <= first.MaxPageNo; p++ {
		req.PageNo = p
		page, err := e.client.GetOrderList(ctx, e.token.AccessToken, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Orders {
			if got[o.OrderID] {
				t.Fatalf("%s on two pages", o.OrderID)
			}
			got[o.OrderID] = true
		}
	}
	if len(got) != first.Total {
		t.Fatalf("paged %d orders, total %d", len(got), first.Total)
	}
	req.PageNo = first.MaxPageNo + 1
	if past, err := e.client.GetOrderList(ctx, e.token.AccessToken, req); err != nil || len(past.Orders) != 0 {
		t.Fatalf("page past the end: %v, %v", past, err)
	}
}

func TestScanSplitsWindowsTooDeepToPage(t *testing.T) {
	t.Parallel()
	// 12,000 orders created within 12 h: a 24 h window holds more than the
	// 10,000 rows paging can reach.
	e := newEnv(t, sandbox.Config{Orders: 12000, Members: 500, History: 12 * time.Hour})
	now := e.clk.Now()
	list, err := e.client.GetOrderList(t.Context(), e.token.AccessToken, ark.OrderListRequest{Start: now.Add(-24 * time.Hour), End: now, TimeType: ark.TimeCreated, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if list.Total != 12000 || list.MaxPageNo != 100 || !list.Truncated() {
		t.Fatalf("total %d maxPageNo %d truncated %v", list.Total, list.MaxPageNo, list.Truncated())
	}
	seen := map[string]bool{}
	err = e.client.ScanOrders(t.Context(), e.token.AccessToken, ark.ScanRequest{Start: now.Add(-24 * time.Hour), End: now, TimeType: ark.TimeCreated}, func(p ark.ScanPage) error {
		for _, o := range p.Orders {
			if seen[o.OrderID] {
				t.Errorf("%s twice", o.OrderID)
			}
			seen[o.OrderID] = true
		}
		return nil
	})
	if err != nil || len(seen) != 12000 {
		t.Fatalf("scan: %d orders, %v", len(seen), err)
	}
}

func TestIncrementalByUpdateTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 2000, Members: 500})
	ctx := t.Context()
	ids := e.sb.OrderIDs()
	mark := e.clk.Now()
	e.clk.Add(time.Minute)

	touched, err := e.sb.TouchOrder(ids[3], ark.StatusCompleted)
	if err != nil || touched.OrderStatus != ark.StatusCompleted || touched.UpdateTime.Time() != e.clk.Now() {
		t.Fatalf("TouchOrder = %+v, %v", touched, err)
	}
	e.clk.Add(time.Minute)
	advanced := e.sb.Advance(5)
	added := e.sb.AddOrders(3)
	if len(advanced) != 5 || len(added) != 3 {
		t.Fatalf("advanced %v added %v", advanced, added)
	}
	want := append(append([]string{ids[3]}, advanced...), added...)
	e.clk.Add(time.Minute)

	var got []string
	err = e.client.ScanOrders(ctx, e.token.AccessToken, ark.ScanRequest{Start: mark, End: e.clk.Now(), TimeType: ark.TimeUpdated}, func(p ark.ScanPage) error {
		for _, o := range p.Orders {
			got = append(got, o.OrderID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(slices.Compact(got), slices.Compact(want)) {
		t.Fatalf("changed since mark: %v, want %v", got, want)
	}
	for _, id := range added {
		d, ok := e.sb.Order(id)
		if !ok || d.CreatedTime.Time().Before(mark) || (d.OrderStatus != ark.StatusPendingPayment && d.OrderStatus != ark.StatusPaidProcessing) {
			t.Fatalf("added order %s: %+v", id, d.OrderSummary)
		}
	}
	for _, id := range advanced {
		d, _ := e.sb.Order(id)
		if d.OrderStatus == ark.StatusPendingPayment {
			t.Errorf("advanced order %s still pending", id)
		}
	}
	if _, err := e.sb.TouchOrder("P0", 1); err == nil {
		t.Error("TouchOrder of an unknown order: want error")
	}
	if _, err := e.sb.TouchOrder(ids[0], 11); err == nil {
		t.Error("TouchOrder to status 11: want error")
	}
}

func TestBackwardPagingSurvivesUpdatesMidScan(t *testing.T) {
	t.Parallel()
	// Every order updated within the last 30 min: one update-time window of
	// many pages. While it is read, orders already read are updated again
	// (as buyers and sellers do): each moves to the end of the update order.
	e := newEnv(t, sandbox.Config{Orders: 900, Members: 300, History: 30 * time.Minute})
	now := e.clk.Now()
	win := ark.OrderListRequest{Start: now.Add(-30 * time.Minute), End: now, TimeType: ark.TimeUpdated, PageSize: 50}
	inWindow := func() map[string]bool {
		out := map[string]bool{}
		for _, id := range e.sb.OrderIDs() {
			if d, _ := e.sb.Order(id); !d.UpdateTime.Time().Before(win.Start) {
				out[id] = true
			}
		}
		return out
	}
	touchSeen := func(pageIDs []string) error {
		if len(pageIDs) == 0 {
			return nil
		}
		e.clk.Add(time.Millisecond)
		_, err := e.sb.TouchOrder(pageIDs[len(pageIDs)/2], 0)
		return err
	}

	// Forward paging under such updates skips orders: an update of a read
	// order pulls an unread one back into a page already read.
	before := inWindow()
	forward := map[string]bool{}
	first, err := e.client.GetOrderList(t.Context(), e.token.AccessToken, win)
	if err != nil {
		t.Fatal(err)
	}
	for p := 1; p <= first.MaxPageNo; p++ {
		req := win
		req.PageNo = p
		page, err := e.client.GetOrderList(t.Context(), e.token.AccessToken, req)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, o := range page.Orders {
			forward[o.OrderID] = true
			ids = append(ids, o.OrderID)
		}
		if err := touchSeen(ids); err != nil {
			t.Fatal(err)
		}
	}
	missed := 0
	for id := range before {
		if !forward[id] {
			missed++
		}
	}
	if missed == 0 {
		t.Fatal("forward paging missed nothing: the sandbox does not move updated orders")
	}

	// ScanOrders pages updated-time windows backwards: nothing is missed.
	before = inWindow()
	win.End = e.clk.Now()
	seen := map[string]bool{}
	err = e.client.ScanOrders(t.Context(), e.token.AccessToken, ark.ScanRequest{Start: win.Start, End: win.End, TimeType: ark.TimeUpdated, PageSize: 50}, func(p ark.ScanPage) error {
		var ids []string
		for _, o := range p.Orders {
			seen[o.OrderID] = true
			ids = append(ids, o.OrderID)
		}
		return touchSeen(ids)
	})
	if err != nil {
		t.Fatal(err)
	}
	for id := range before {
		if !seen[id] {
			t.Errorf("order %s was skipped", id)
		}
	}
}

func TestEveryStatusAndDetailRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 400, Members: 600, History: 20 * 24 * time.Hour})
	ctx := t.Context()
	now := e.clk.Now()
	for st := ark.StatusPendingPayment; st <= ark.StatusExchangeRequested; st++ {
		n := 0
		err := e.client.ScanOrders(ctx, e.token.AccessToken, ark.ScanRequest{Start: now.Add(-21 * 24 * time.Hour), End: now, TimeType: ark.TimeCreated, OrderStatus: st}, func(p ark.ScanPage) error {
			for _, o := range p.Orders {
				if o.OrderStatus != st {
					t.Errorf("status filter %d returned %s in %d", st, o.OrderID, o.OrderStatus)
				}
			}
			n += len(p.Orders)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("no order in status %d", st)
		}
	}
	cfg := e.sb.Config()
	for _, id := range e.sb.OrderIDs()[:40] {
		d, err := e.client.GetOrderDetail(ctx, e.token.AccessToken, id)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := e.sb.Order(id)
		if d.OrderID != id || d.ShopID != cfg.SellerID || d.UpdateTime != want.UpdateTime || d.CreatedTime == 0 || d.UpdateTime < d.CreatedTime {
			t.Fatalf("detail %+v", d.OrderSummary)
		}
		if _, err := mapping.XiaohongshuOrderStatus(d.OrderStatus); err != nil {
			t.Fatal(err)
		}
		var lines mapping.Fen
		for _, s := range d.SkuList {
			lines += s.TotalPaidAmount
			if s.SkuQuantity < 1 || s.TotalPaidAmount <= 0 {
				t.Fatalf("line %+v", s)
			}
		}
		if len(d.SkuList) == 0 || lines+d.TotalShippingFree != d.TotalPayAmount || d.MerchantActualReceiveAmount != d.TotalPayAmount+d.TotalRedDiscount {
			t.Fatalf("%s amounts: lines %v + shipping %v != pay %v", id, lines, d.TotalShippingFree, d.TotalPayAmount)
		}
		person, ok := e.sb.BuyerOf(id)
		if !ok || d.UserID == "" || d.UserID != e.sb.UserID(person) {
			t.Fatalf("%s buyer: userId %q, person %d", id, d.UserID, person)
		}
		id := mapping.Identity{Type: mapping.IDXHSOpenID, Scope: d.ShopID, Value: d.UserID}
		if err := id.Validate(); err != nil {
			t.Fatal(err)
		}
		if d.ReceiverProvinceName == "" || d.ReceiverCityName == "" {
			t.Fatalf("%s: no region", d.OrderID)
		}
	}
	// A person's userId is shop-scoped.
	other := sandbox.New(sandbox.Config{Orders: 1, Members: 1, SellerID: "another-shop", Now: e.clk.Now})
	if other.UserID(7) == e.sb.UserID(7) {
		t.Fatal("userId is not shop-scoped")
	}
	if _, err := e.client.GetOrderDetail(ctx, e.token.AccessToken, "P0"); apiCode(err) != ark.CodeOrderNotFound {
		t.Fatalf("unknown order: %v", err)
	}
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	clk := newClock()
	a := sandbox.New(sandbox.Config{Orders: 300, Now: clk.Now})
	b := sandbox.New(sandbox.Config{Orders: 300, Now: clk.Now})
	if !slices.Equal(a.OrderIDs(), b.OrderIDs()) {
		t.Fatal("order ids differ between equal configs")
	}
	for _, id := range a.OrderIDs()[:20] {
		da, _ := a.Order(id)
		db, _ := b.Order(id)
		ja, _ := json.Marshal(da)
		jb, _ := json.Marshal(db)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("%s differs:\n%s\n%s", id, ja, jb)
		}
	}
	c := sandbox.New(sandbox.Config{Seed: 2, Orders: 300, Now: clk.Now})
	if slices.Equal(a.OrderIDs(), c.OrderIDs()) {
		t.Fatal("another seed gives the same orders")
	}
	if n := len(slices.Compact(slices.Sorted(slices.Values(a.OrderIDs())))); n != 300 {
		t.Fatalf("%d distinct ids of 300", n)
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 5, Members: 20, QPS: 2})
	id := e.sb.OrderIDs()[0]
	call := func() error {
		_, err := e.client.GetOrderDetail(t.Context(), e.token.AccessToken, id)
		return err
	}
	var ok, throttled int
	for range 5 {
		switch err := call(); {
		case err == nil:
			ok++
		case ark.IsThrottled(err) && apiCode(err) == ark.CodeThrottled:
			throttled++
		default:
			t.Fatal(err)
		}
	}
	if ok != 2 || throttled != 3 {
		t.Fatalf("ok %d throttled %d, want 2 and 3", ok, throttled)
	}
	st := e.sb.Stats()
	if st.Requests != 5 || st.Throttled != 3 || st.ByMethod[ark.MethodGetOrderDetail] != 5 || st.Orders != 5 {
		t.Fatalf("stats %+v", st)
	}
	e.clk.Add(500 * time.Millisecond)
	if err := call(); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	if err := call(); !ark.IsThrottled(err) {
		t.Fatalf("bucket should be empty again: %v", err)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 5, Members: 20})
	id := e.sb.OrderIDs()[0]
	detail := func() error {
		_, err := e.client.GetOrderDetail(t.Context(), e.token.AccessToken, id)
		return err
	}
	tests := []struct {
		name  string
		fault sandbox.Fault
		check func(error) bool
	}{
		{"500", sandbox.Fault{Kind: sandbox.FaultHTTP500}, func(err error) bool {
			he, ok := errors.AsType[*ark.HTTPError](err)
			return ok && he.StatusCode == 500 && ark.IsUnavailable(err)
		}},
		{"502", sandbox.Fault{Kind: sandbox.FaultHTTP502}, ark.IsUnavailable},
		{"503", sandbox.Fault{Kind: sandbox.FaultHTTP503}, ark.IsUnavailable},
		{"malformed", sandbox.Fault{Kind: sandbox.FaultMalformed}, func(err error) bool {
			return errors.Is(err, ark.ErrMalformedResponse) && ark.IsUnavailable(err)
		}},
		{"throttle code", sandbox.Fault{Kind: sandbox.FaultErrorCode, ErrorCode: ark.CodeThrottled}, ark.IsThrottled},
		{"server error code", sandbox.Fault{Kind: sandbox.FaultErrorCode, ErrorCode: ark.CodeServerError, ErrorMsg: "忙"}, func(err error) bool {
			return apiCode(err) == ark.CodeServerError && strings.Contains(err.Error(), "忙") && ark.IsUnavailable(err)
		}},
	}
	for _, tt := range tests {
		if err := e.sb.Inject(ark.MethodGetOrderDetail, tt.fault); err != nil {
			t.Fatal(err)
		}
		if err := detail(); !tt.check(err) {
			t.Errorf("%s: %v", tt.name, err)
		}
		if err := detail(); err != nil {
			t.Errorf("%s: fault outlived its one call: %v", tt.name, err)
		}
	}

	// Times, AnyMethod, and faults for other methods leave this one alone.
	if err := e.sb.Inject(ark.MethodGetOrderList, sandbox.Fault{Kind: sandbox.FaultHTTP500, Times: -1}); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Inject(sandbox.AnyMethod, sandbox.Fault{Kind: sandbox.FaultErrorCode, ErrorCode: -1, Times: 2}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		err := detail()
		if (i < 2) != (apiCode(err) == -1) {
			t.Errorf("any-method fault, call %d: %v", i, err)
		}
	}
	e.sb.ClearFaults()
	if err := detail(); err != nil {
		t.Fatal(err)
	}

	// Delay: the client's timeout fires; the next call is served.
	if err := e.sb.Inject(ark.MethodGetOrderDetail, sandbox.Fault{Kind: sandbox.FaultDelay, Delay: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	hc := e.srv.Client()
	hc.Timeout = 100 * time.Millisecond
	quick, err := ark.New(ark.Config{AppID: e.sb.Config().AppID, AppSecret: e.sb.Config().AppSecret, BaseURL: e.srv.URL, HTTPClient: hc, Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := quick.GetOrderDetail(t.Context(), e.token.AccessToken, id); !ark.IsUnavailable(err) {
		t.Fatalf("delay: %v", err)
	}
	if _, err := quick.GetOrderDetail(t.Context(), e.token.AccessToken, id); err != nil {
		t.Fatalf("after delay: %v", err)
	}

	for _, bad := range []sandbox.Fault{{Kind: "nope"}, {Kind: sandbox.FaultDelay}, {Kind: sandbox.FaultErrorCode}} {
		if err := e.sb.Inject("m", bad); err == nil {
			t.Errorf("Inject(%+v): want error", bad)
		}
	}
}

func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 20, Members: 50})
	admin := func(method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, raw
	}
	if code, raw := admin("POST", "/sandbox/faults", `{"method":"order.getOrderDetail","kind":"error_code","error_code":-1000429,"times":1}`); code != 200 {
		t.Fatalf("POST faults: %d %s", code, raw)
	}
	id := e.sb.OrderIDs()[0]
	if _, err := e.client.GetOrderDetail(t.Context(), e.token.AccessToken, id); !ark.IsThrottled(err) {
		t.Fatalf("admin fault not applied: %v", err)
	}
	if code, _ := admin("POST", "/sandbox/faults", `{"method":"x","kind":"delay"}`); code != 400 {
		t.Errorf("bad fault: HTTP %d", code)
	}
	if code, _ := admin("POST", "/sandbox/faults", `{"method":"x","kind":"delay","delay":"1s"}`); code != 200 {
		t.Errorf("delay fault: HTTP %d", code)
	}
	if code, _ := admin("DELETE", "/sandbox/faults", ""); code != 200 {
		t.Errorf("DELETE faults: HTTP %d", code)
	}
	var tok ark.Token
	code, raw := admin("POST", "/sandbox/tokens/issue", "")
	if err := json.Unmarshal(raw, &tok); code != 200 || err != nil || tok.AccessToken == "" {
		t.Fatalf("issue: %d %s", code, raw)
	}
	var c struct{ Code string }
	_, raw = admin("POST", "/sandbox/tokens/code", "")
	if err := json.Unmarshal(raw, &c); err != nil || c.Code == "" {
		t.Fatalf("code: %s", raw)
	}
	if _, err := e.client.GetAccessToken(t.Context(), c.Code); err != nil {
		t.Fatal(err)
	}
	if code, _ := admin("POST", "/sandbox/tokens/expire", ""); code != 200 {
		t.Fatal("expire")
	}
	if _, err := e.client.GetOrderDetail(t.Context(), tok.AccessToken, id); !ark.IsAuthExpired(err) {
		t.Fatalf("after admin expire: %v", err)
	}
	var touched ark.OrderSummary
	_, raw = admin("POST", "/sandbox/orders/touch", `{"orderId":"`+id+`","orderStatus":9}`)
	if err := json.Unmarshal(raw, &touched); err != nil || touched.OrderStatus != 9 || touched.CancelTime == 0 {
		t.Fatalf("touch: %s", raw)
	}
	var ids struct {
		OrderIDs []string `json:"orderIds"`
	}
	_, raw = admin("POST", "/sandbox/orders/add", `{"n":2}`)
	if err := json.Unmarshal(raw, &ids); err != nil || len(ids.OrderIDs) != 2 {
		t.Fatalf("add: %s", raw)
	}
	_, raw = admin("POST", "/sandbox/orders/advance", `{"n":1}`)
	if err := json.Unmarshal(raw, &ids); err != nil || len(ids.OrderIDs) != 1 {
		t.Fatalf("advance: %s", raw)
	}
	if code, _ := admin("POST", "/sandbox/orders/add", `{"n":0}`); code != 400 {
		t.Errorf("add 0: HTTP %d", code)
	}
	var st sandbox.Stats
	_, raw = admin("GET", "/sandbox/stats", "")
	if err := json.Unmarshal(raw, &st); err != nil || st.Orders != 22 || st.Requests < 3 {
		t.Fatalf("stats: %s", raw)
	}
	if code, _ := admin("GET", "/sandbox/nope", ""); code != 404 {
		t.Errorf("unknown admin path: HTTP %d", code)
	}
}

func TestPushRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 10, Members: 30})
	cfg := e.sb.Config()
	id := e.sb.OrderIDs()[2]
	if _, err := e.sb.TouchOrder(id, ark.StatusAwaitingReceipt); err != nil {
		t.Fatal(err)
	}

	type got struct {
		uri    string
		header http.Header
		body   []byte
	}
	recv := make(chan got, 1)
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		recv <- got{r.URL.RequestURI(), r.Header.Clone(), body}
		_ = json.NewEncoder(w).Encode(ark.PushReply{Success: true})
	}))
	defer hub.Close()

	req, err := e.sb.OrderStatusPush(t.Context(), hub.URL+"/webhooks/xhs?tenant=t1&shop=小店", id)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hub.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	g := <-recv
	if err := ark.VerifyPushSign(cfg.AppID, cfg.AppSecret, g.uri, g.header); err != nil {
		t.Fatalf("sign: %v (uri %s)", err, g.uri)
	}
	if g.header.Get("timestamp") != "1748779200" {
		t.Errorf("timestamp header %q, want the sandbox clock", g.header.Get("timestamp"))
	}
	if err := ark.VerifyPushSign(cfg.AppID, "other-secret", g.uri, g.header); !errors.Is(err, ark.ErrPushSign) {
		t.Errorf("wrong secret verified: %v", err)
	}
	if err := ark.VerifyPushSign(cfg.AppID, cfg.AppSecret, strings.Replace(g.uri, "t1", "t2", 1), g.header); err == nil {
		t.Error("tampered query verified")
	}
	msgs, probe, err := ark.ParsePush(g.body)
	if err != nil || probe || len(msgs) != 1 || msgs[0].MsgTag != ark.TagOrderStatusChange || msgs[0].SellerID != cfg.SellerID {
		t.Fatalf("push body %s: %v", g.body, err)
	}
	change, err := msgs[0].OrderChange()
	if err != nil || change.OrderID != id || change.OrderStatus != ark.StatusAwaitingReceipt || change.UpdateTime.Time() != e.clk.Now() {
		t.Fatalf("change %+v, %v", change, err)
	}

	if _, err := e.sb.OrderStatusPush(t.Context(), hub.URL+"/x", "P0"); err == nil {
		t.Error("push for an unknown order: want error")
	}
	if _, err := e.sb.PushRequest(t.Context(), "/relative"); err == nil {
		t.Error("relative push target: want error")
	}
}

func TestScale(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds 200,000 orders")
	}
	e := newEnv(t, sandbox.Config{Orders: 200_000, Members: 3000})
	now := e.clk.Now()
	page, err := e.client.GetOrderList(t.Context(), e.token.AccessToken, ark.OrderListRequest{Start: now.Add(-30 * time.Minute), End: now, TimeType: ark.TimeUpdated, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total == 0 {
		t.Fatal("no orders updated in the last 30 min of 200k")
	}
	ids := e.sb.Advance(100)
	if len(ids) != 100 {
		t.Fatalf("advanced %d", len(ids))
	}
	if st := e.sb.Stats(); st.Orders != 200_000 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg := sandbox.New(sandbox.Config{Orders: -1, Members: -1}).Config()
	if cfg.Seed != 1 || cfg.Orders != 0 || cfg.Members != 0 || cfg.AppID != sandbox.DefaultAppID || cfg.AppSecret == "" ||
		cfg.AccessTokenTTL != ark.AccessTokenTTL || cfg.RefreshTokenTTL != ark.RefreshTokenTTL || cfg.RefreshWindow != ark.RefreshWindow ||
		cfg.SupersededGrace != ark.SupersededGrace || cfg.AuthCodeTTL != ark.AuthCodeTTL || cfg.QPS != 0 || cfg.Now == nil || cfg.History != sandbox.DefaultHistory {
		t.Fatalf("defaults %+v", cfg)
	}
	d := sandbox.New(sandbox.Config{}).Config()
	if d.Orders != sandbox.DefaultOrders || d.Members != sandbox.DefaultMembers {
		t.Fatalf("zero config %+v", d)
	}
}

func TestForHub(t *testing.T) {
	t.Parallel()
	h, creds, conn := sandbox.ForHub(7, 400)
	s, ok := h.(*sandbox.Server)
	if !ok {
		t.Fatalf("ForHub returned a %T, want *sandbox.Server", h)
	}
	cfg := s.Config()
	if cfg.Seed != 7 || cfg.Members != 400 {
		t.Fatalf("seed %d members %d, want 7 and 400", cfg.Seed, cfg.Members)
	}
	for _, k := range []string{"app_id", "app_secret", "seller_id", "refresh_token"} {
		if creds[k] == "" || conn[k] != creds[k] {
			t.Fatalf("%s: credential %q, config %v", k, creds[k], conn[k])
		}
	}
	if _, ok := conn["api_base"]; ok {
		t.Fatal("the config has api_base: the registry sets it")
	}
	if creds["app_id"] != cfg.AppID || creds["seller_id"] != cfg.SellerID {
		t.Fatalf("credentials %v do not match the sandbox config", creds)
	}

	// The refresh token it hands out works: it yields an access token that
	// reads the seeded orders, and the buyers are the seeded people.
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, err := ark.New(ark.Config{AppID: creds["app_id"], AppSecret: creds["app_secret"], BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.RefreshToken(t.Context(), creds["refresh_token"])
	if err != nil {
		t.Fatal(err)
	}
	if tok.SellerID != creds["seller_id"] {
		t.Fatalf("token for seller %q, want %q", tok.SellerID, creds["seller_id"])
	}
	ids := s.OrderIDs()
	if len(ids) == 0 {
		t.Fatal("no orders")
	}
	d, err := c.GetOrderDetail(t.Context(), tok.AccessToken, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	person, ok := s.BuyerOf(ids[0])
	if !ok || d.UserID != s.UserID(person) {
		t.Fatalf("order %s: buyer %q, want the seeded person %d's %q", ids[0], d.UserID, person, s.UserID(person))
	}

	// Same seed, same sandbox.
	h2, creds2, _ := sandbox.ForHub(7, 400)
	if !slices.Equal(h2.(*sandbox.Server).OrderIDs(), ids) || creds2["app_id"] != creds["app_id"] {
		t.Fatal("ForHub is not reproducible")
	}
}
