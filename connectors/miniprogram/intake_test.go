package miniprogram_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/miniprogram"
	"github.com/channelhub/channelhub/connectors/miniprogram/sandbox"
	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

func openid(app, v string) mapping.Identity {
	return mapping.Identity{Type: mapping.IDMiniprogramOpenID, Scope: app, Value: v}
}

func unionid(v string) mapping.Identity {
	return mapping.Identity{Type: mapping.IDWechatUnionID, Scope: sandboxdata.OpenPlatformID, Value: v}
}

func TestMemberEventsMap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.connector(t, nil)
	app := e.sb.Config().AppID
	u := e.user(t, 0)
	at := e.clock.Now().UTC()

	resp, r := e.send(t, c, e.brand.Login(u))
	mustAccept(t, resp, r, 1)
	rec := resp.Records[0]
	want := []mapping.Identity{openid(app, u.OpenID), unionid(u.UnionID)}
	if rec.Stream != miniprogram.StreamMembers || rec.ID != "login:"+u.OpenID+":"+u.UnionID || !rec.UpdatedAt.Equal(at) || rec.Member == nil || !slices.Equal(rec.Member.Identities, want) {
		t.Fatalf("login record %+v", rec)
	}

	resp, r = e.send(t, c, e.brand.PhoneBound(u))
	mustAccept(t, resp, r, 1)
	rec = resp.Records[0]
	want = []mapping.Identity{openid(app, u.OpenID), {Type: mapping.IDPhone, Value: u.Phone}}
	if rec.ID != "phone:"+u.OpenID || !slices.Equal(rec.Member.Identities, want) {
		t.Fatalf("phone_bound record %s %v, want %v", rec.ID, rec.Member.Identities, want)
	}

	resp, r = e.send(t, c, e.brand.MemberRegistered(u))
	mustAccept(t, resp, r, 1)
	rec = resp.Records[0]
	m := rec.Member
	card := mapping.Identity{Type: mapping.IDMemberCard, Scope: sandbox.DefaultBrand, Value: fmt.Sprintf("VIP%08d", u.Person)}
	if rec.ID != "member:"+u.OpenID || !slices.Equal(m.Identities, []mapping.Identity{openid(app, u.OpenID), unionid(u.UnionID), card}) {
		t.Fatalf("member_registered identities %v", m.Identities)
	}
	if m.Name != u.Name || m.Birthday != u.Birthday || m.City != u.City || m.Province != u.Province || m.Level != "silver" || !m.Subscribed || !m.SubscribedAt.Equal(at) {
		t.Fatalf("member_registered profile %+v", m)
	}
	if wantG := mapping.NormalizeGender(string(rune('0' + u.Gender))); m.Gender != wantG {
		t.Fatalf("gender %q, want %q", m.Gender, wantG)
	}
}

func TestLoginWithoutUnionIDOrOpenPlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.sb.Config().AppID
	u := e.user(t, 1)
	// No open_platform_id: the unionid has no scope and is left out.
	c := e.connector(t, map[string]any{"open_platform_id": ""})
	resp, r := e.send(t, c, e.brand.Login(u))
	mustAccept(t, resp, r, 1)
	if rec := resp.Records[0]; rec.ID != "login:"+u.OpenID || !slices.Equal(rec.Member.Identities, []mapping.Identity{openid(app, u.OpenID)}) {
		t.Fatalf("record %s %v", rec.ID, rec.Member.Identities)
	}
}

func TestOrderEventsMapWithExactFen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.connector(t, nil)
	app := e.sb.Config().AppID
	u := e.user(t, 2)
	lines := []sandbox.Line{
		{SKU: "SKU-CREAM-50", Title: "保湿面霜 50ml", Quantity: 3, UnitPriceFen: 33333},
		{SKU: "SKU-MASK-5", Title: "面膜 5片装", Quantity: 1, UnitPriceFen: 1},
	}
	const total, discount = 3*33333 + 1, 1001
	for _, tt := range []struct {
		typ    string
		status mapping.OrderStatus
		paid   mapping.Fen
		refund mapping.Fen
	}{
		{"order_created", mapping.OrderPendingPayment, 0, 0},
		{"order_paid", mapping.OrderPaid, total - discount, 0},
		{"order_shipped", mapping.OrderShipped, total - discount, 0},
		{"order_refunded", mapping.OrderRefunded, total - discount, total - discount},
	} {
		resp, r := e.send(t, c, e.brand.OrderEvent(tt.typ, "BO-20240501-0001", u, discount, lines...))
		mustAccept(t, resp, r, 1)
		rec := resp.Records[0]
		o := rec.Order
		if rec.Stream != miniprogram.StreamOrders || rec.ID != "BO-20240501-0001" || o == nil {
			t.Fatalf("%s: record %+v", tt.typ, rec)
		}
		if o.Platform != "miniprogram" || o.Shop != app || o.OrderID != rec.ID || o.Status != tt.status || o.PlatformStatus != tt.typ {
			t.Fatalf("%s: order key/status %+v", tt.typ, o)
		}
		if o.TotalFen != total || o.DiscountFen != discount || o.PaidFen != tt.paid || o.RefundFen != tt.refund {
			t.Fatalf("%s: amounts total %d discount %d paid %d refund %d", tt.typ, o.TotalFen, o.DiscountFen, o.PaidFen, o.RefundFen)
		}
		if len(o.Items) != 2 || o.Items[0] != (mapping.OrderItem{SKU: "SKU-CREAM-50", Title: "保湿面霜 50ml", Quantity: 3, UnitPriceFen: 33333}) || o.Items[1].UnitPriceFen != 1 {
			t.Fatalf("%s: items %+v", tt.typ, o.Items)
		}
		if !slices.Equal(o.Buyer, []mapping.Identity{openid(app, u.OpenID), unionid(u.UnionID)}) {
			t.Fatalf("%s: buyer %v", tt.typ, o.Buyer)
		}
		if !o.UpdatedAt.Equal(e.clock.Now()) || !o.CreatedAt.Equal(e.clock.Now().Add(-time.Hour)) || o.CreatedAt.Location() != time.UTC {
			t.Fatalf("%s: times created %s updated %s", tt.typ, o.CreatedAt, o.UpdatedAt)
		}
		e.clock.Add(time.Minute)
	}

	// The largest amounts survive without rounding.
	ev := e.brand.Event("order_paid", map[string]any{"order_id": "BO-BIG", "openid": u.OpenID,
		"total_fen": json.Number("9007199254740993"), "paid_fen": json.Number("9007199254740993")})
	resp, r := e.send(t, c, ev)
	mustAccept(t, resp, r, 1)
	if o := resp.Records[0].Order; o.TotalFen != 9007199254740993 || o.PaidFen != 9007199254740993 {
		t.Fatalf("big amounts %d %d", o.TotalFen, o.PaidFen)
	}
}

func TestRefusedRequestsEmitNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.connector(t, nil)
	u := e.user(t, 3)
	body := e.brand.Body(e.brand.Login(u))
	good := e.signed(t, e.brand, body)

	tampered := e.signed(t, e.brand, body)
	tampered.Body = bytes.Replace(tampered.Body, []byte(u.OpenID), []byte("oAttacker00000000000000000000"), 1)
	noSig := e.signed(t, e.brand, body)
	noSig.Header.Del(miniprogram.HeaderSignature)
	noTS := e.signed(t, e.brand, body)
	noTS.Header.Del(miniprogram.HeaderTimestamp)
	badTS := e.signed(t, e.brand, body)
	badTS.Header.Set(miniprogram.HeaderTimestamp, "2024-05-01T10:00:00Z")
	otherTS := e.signed(t, e.brand, body)
	otherTS.Header.Set(miniprogram.HeaderTimestamp, "1714557601") // signature was over another second
	get := e.signed(t, e.brand, body)
	get.Method = http.MethodGet

	sign := func(b []byte) sdk.WebhookRequest { return e.signed(t, e.brand, b) }
	for _, tt := range []struct {
		name   string
		req    sdk.WebhookRequest
		status int
		code   string
		field  string
	}{
		{"forged", e.signed(t, e.brand.WithSecret("not-the-event-secret-at-all"), body), 401, miniprogram.ReplyBadSignature, miniprogram.HeaderSignature},
		{"tampered body", tampered, 401, miniprogram.ReplyBadSignature, miniprogram.HeaderSignature},
		{"other timestamp", otherTS, 401, miniprogram.ReplyBadSignature, miniprogram.HeaderSignature},
		{"no signature", noSig, 401, miniprogram.ReplyBadSignature, miniprogram.HeaderSignature},
		{"no timestamp", noTS, 401, miniprogram.ReplyBadSignature, miniprogram.HeaderTimestamp},
		{"timestamp not unix", badTS, 401, miniprogram.ReplyBadSignature, miniprogram.HeaderTimestamp},
		{"GET", get, 405, miniprogram.ReplyMethodNotAllowed, ""},
		{"stale", e.signedAt(t, e.brand, body, e.clock.Now().Add(-5*time.Minute-time.Second)), 400, miniprogram.ReplyStale, miniprogram.HeaderTimestamp},
		{"future", e.signedAt(t, e.brand, body, e.clock.Now().Add(6*time.Minute)), 400, miniprogram.ReplyStale, miniprogram.HeaderTimestamp},
		{"not JSON", sign([]byte(`{"event_id":`)), 400, miniprogram.ReplyMalformed, "body"},
		{"array", sign([]byte(`[1,2]`)), 400, miniprogram.ReplyMalformed, "body"},
		{"no event_id", sign([]byte(`{"type":"login","occurred_at":"2024-05-01T18:00:00+08:00","data":{"openid":"o1"}}`)), 400, miniprogram.ReplyMalformed, "event_id"},
		{"event_id number", sign([]byte(`{"event_id":7,"type":"login","occurred_at":"2024-05-01T18:00:00+08:00","data":{"openid":"o1"}}`)), 400, miniprogram.ReplyMalformed, "event_id"},
		{"unknown type", sign([]byte(`{"event_id":"e1","type":"logout","occurred_at":"2024-05-01T18:00:00+08:00","data":{"openid":"o1"}}`)), 400, miniprogram.ReplyMalformed, "type"},
		{"bad occurred_at", sign([]byte(`{"event_id":"e1","type":"login","occurred_at":"2024-05-01 18:00:00","data":{"openid":"o1"}}`)), 400, miniprogram.ReplyMalformed, "occurred_at"},
		{"no data", sign([]byte(`{"event_id":"e1","type":"login","occurred_at":"2024-05-01T18:00:00+08:00"}`)), 400, miniprogram.ReplyMalformed, "data"},
		{"no openid", sign([]byte(`{"event_id":"e1","type":"login","occurred_at":"2024-05-01T18:00:00+08:00","data":{"unionid":"u"}}`)), 400, miniprogram.ReplyMalformed, "data.openid"},
		{"other app", sign(e.brand.Body(e.brand.Event("login", map[string]any{"appid": "wxother", "openid": "o1"}))), 400, miniprogram.ReplyMalformed, "data.appid"},
		{"yuan amount", sign(e.brand.Body(e.brand.Event("order_paid", map[string]any{"order_id": "B1", "openid": "o1", "total_fen": 129.5, "paid_fen": 12950}))), 400, miniprogram.ReplyMalformed, "data.total_fen"},
		{"string amount", sign(e.brand.Body(e.brand.Event("order_paid", map[string]any{"order_id": "B1", "openid": "o1", "total_fen": 100, "paid_fen": "100"}))), 400, miniprogram.ReplyMalformed, "data.paid_fen"},
		{"negative amount", sign(e.brand.Body(e.brand.Event("order_created", map[string]any{"order_id": "B1", "openid": "o1", "total_fen": -1}))), 400, miniprogram.ReplyMalformed, "data.total_fen"},
		{"paid missing", sign(e.brand.Body(e.brand.Event("order_paid", map[string]any{"order_id": "B1", "openid": "o1", "total_fen": 100}))), 400, miniprogram.ReplyMalformed, "data.paid_fen"},
		{"over-refund", sign(e.brand.Body(e.brand.Event("order_refunded", map[string]any{"order_id": "B1", "openid": "o1", "total_fen": 100, "paid_fen": 90, "refund_fen": 100}))), 400, miniprogram.ReplyMalformed, "data.refund_fen"},
		{"zero quantity", sign(e.brand.Body(e.brand.Event("order_created", map[string]any{"order_id": "B1", "openid": "o1", "total_fen": 100, "items": []any{map[string]any{"sku": "S", "quantity": 0, "unit_price_fen": 100}}}))), 400, miniprogram.ReplyMalformed, "data.items[0].quantity"},
		{"bad phone", sign(e.brand.Body(e.brand.Event("phone_bound", map[string]any{"openid": "o1", "phone": "12345"}))), 400, miniprogram.ReplyMalformed, "data.phone"},
		{"no phone", sign(e.brand.Body(e.brand.Event("phone_bound", map[string]any{"openid": "o1"}))), 400, miniprogram.ReplyMalformed, "data.phone"},
		{"bad birthday", sign(e.brand.Body(e.brand.Event("member_registered", map[string]any{"openid": "o1", "profile": map[string]any{"birthday": "1990/01/02"}}))), 400, miniprogram.ReplyMalformed, "data.profile.birthday"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, r := handle(t, c, tt.req)
			mustRefuse(t, resp, r, tt.status, tt.code, tt.field)
			if strings.Contains(string(resp.Body), "12345") || strings.Contains(string(resp.Body), "not-the-event-secret") {
				t.Fatalf("the reply quotes a phone or secret: %s", resp.Body)
			}
		})
	}

	// A refused malformed event does not burn its id: fixed, it goes through.
	resp, r := handle(t, c, good)
	mustAccept(t, resp, r, 1)
}

// A repeated event (the hub answered 503 and the backend delivered again,
// or a captured request replayed) answers with the records it made the
// first time, so the hub can store what it could not before; nothing is
// exchanged with WeChat again.
func TestRepeatedEventGetsItsRecordsAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.connector(t, nil)
	u := e.user(t, 4)
	req := e.signed(t, e.brand, e.brand.Body(e.brand.OrderEvent("order_paid", "BO-REPLAY", u, 0, sandbox.Line{SKU: "S1", Quantity: 1, UnitPriceFen: 1999})))
	first, r := handle(t, c, req)
	mustAccept(t, first, r, 1)
	if r.Repeated {
		t.Fatal("a first delivery is marked repeated")
	}
	same := func(what string, a, b sdk.Record) {
		t.Helper()
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("%s made a different record:\n%s\n%s", what, ja, jb)
		}
	}

	// The captured request again, and the same event id signed anew.
	resp, r := handle(t, c, req)
	mustAccept(t, resp, r, 1)
	if !r.Repeated {
		t.Fatalf("a repeat is not marked repeated: %+v", r)
	}
	same("a repeat", first.Records[0], resp.Records[0])
	resigned := e.signedAt(t, e.brand, req.Body, e.clock.Now().Add(time.Second))
	resp, r = handle(t, c, resigned)
	mustAccept(t, resp, r, 1)
	same("a repeat signed anew", first.Records[0], resp.Records[0])

	// A phone code is good for one exchange: its repeat answers with the
	// number exchanged the first time.
	code, _ := e.sb.IssuePhoneCode(u.OpenID)
	bound := e.signed(t, e.brand, e.brand.Body(e.brand.PhoneBoundCode(u, code)))
	once, r := handle(t, c, bound)
	mustAccept(t, once, r, 1)
	twice, r := handle(t, c, bound)
	mustAccept(t, twice, r, 1)
	same("a repeated phone code", once.Records[0], twice.Records[0])

	// Two deliveries of one event at once: one is handled, the other is
	// told to send it again shortly.
	code, _ = e.sb.IssuePhoneCode(u.OpenID)
	e.sb.Inject(sandbox.PathPhoneNumber, sandbox.Fault{Kind: sandbox.FaultDelay, Delay: 300 * time.Millisecond})
	both := e.signed(t, e.brand, e.brand.Body(e.brand.PhoneBoundCode(u, code)))
	out := make([]sdk.WebhookResponse, 2)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() { out[i], _ = c.HandleWebhook(t.Context(), both) })
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b sdk.WebhookResponse) int { return a.Status - b.Status })
	mustAccept(t, out[0], reply(t, out[0]), 1)
	busy := reply(t, out[1])
	mustRefuse(t, out[1], busy, http.StatusConflict, miniprogram.ReplyInProgress, "event_id")
	if !busy.Retry || out[1].Header.Get("Retry-After") == "" {
		t.Fatalf("an event being handled is not to be retried: %+v %v", busy, out[1].Header)
	}

	// Past the skew window the captured request is stale, whatever the guard
	// remembers.
	e.clock.Add(5*time.Minute + time.Second)
	resp, r = handle(t, c, req)
	mustRefuse(t, resp, r, http.StatusBadRequest, miniprogram.ReplyStale, "")

	// A fresh plugin process has an empty guard: a replay inside the window
	// is mapped again, to the very same record.
	e.clock.Add(-5*time.Minute - time.Second)
	fresh := e.connector(t, nil)
	again, r := handle(t, fresh, req)
	mustAccept(t, again, r, 1)
	same("a replay past the guard", first.Records[0], again.Records[0])
}

func TestPreviousSecretIsAccepted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	old := e.sb.Config().EventSecret
	c := e.connector(t, map[string]any{"event_secret": "the-new-secret-0123456789abcdef", "event_secret_previous": old})
	resp, r := e.send(t, c, e.brand.Login(e.user(t, 5)))
	mustAccept(t, resp, r, 1)
	resp, r = handle(t, c, e.signed(t, e.brand.WithSecret("the-new-secret-0123456789abcdef"), e.brand.Body(e.brand.Login(e.user(t, 6)))))
	mustAccept(t, resp, r, 1)
}

func TestPhoneCodeIsExchanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.connector(t, nil)
	app := e.sb.Config().AppID
	u := e.user(t, 7)
	code, ok := e.sb.IssuePhoneCode(u.OpenID)
	if !ok {
		t.Fatal("no phone code")
	}
	resp, r := e.send(t, c, e.brand.PhoneBoundCode(u, code))
	mustAccept(t, resp, r, 1)
	want := []mapping.Identity{openid(app, u.OpenID), {Type: mapping.IDPhone, Value: u.Phone}}
	if got := resp.Records[0].Member.Identities; !slices.Equal(got, want) {
		t.Fatalf("identities %v, want %v", got, want)
	}

	// A code is single use: WeChat answers 40029, the event is refused, not retried.
	resp, r = e.send(t, c, e.brand.PhoneBoundCode(u, code))
	mustRefuse(t, resp, r, http.StatusBadRequest, miniprogram.ReplyInvalidPhoneCode, "data.phone_code")

	// A non-mainland number keeps its country code.
	hk := e.sb.IssuePhoneCodeFor("+85291234567")
	resp, r = e.send(t, c, e.brand.PhoneBoundCode(u, hk))
	mustAccept(t, resp, r, 1)
	if got := resp.Records[0].Member.Identities[1]; got.Value != "+85291234567" {
		t.Fatalf("phone %v", got)
	}
	// Expired codes are refused too.
	late := e.sb.IssuePhoneCodeFor(u.Phone)
	e.clock.Add(sandbox.PhoneCodeTTL)
	resp, r = e.send(t, c, e.brand.PhoneBoundCode(u, late))
	mustRefuse(t, resp, r, http.StatusBadRequest, miniprogram.ReplyInvalidPhoneCode, "data.phone_code")
}

func TestPhoneCodeSurvivesTokenExpiryAndOutages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.connector(t, nil)
	u := e.user(t, 8)

	// A token that expired (42001) or was revoked (40001) is refetched once.
	code, _ := e.sb.IssuePhoneCode(u.OpenID)
	sendOK(t, e, c, e.brand.PhoneBoundCode(u, code))
	issued := e.sb.TokensIssued()
	e.sb.ExpireTokens()
	code, _ = e.sb.IssuePhoneCode(u.OpenID)
	sendOK(t, e, c, e.brand.PhoneBoundCode(u, code))
	e.sb.RevokeTokens()
	code, _ = e.sb.IssuePhoneCode(u.OpenID)
	sendOK(t, e, c, e.brand.PhoneBoundCode(u, code))
	if n := e.sb.TokensIssued() - issued; n != 2 {
		t.Fatalf("%d new tokens, want 2 (one per rejection)", n)
	}

	// WeChat busy or throttled: 503, retry; the event id is not burnt.
	code, _ = e.sb.IssuePhoneCode(u.OpenID)
	ev := e.brand.PhoneBoundCode(u, code)
	e.sb.Inject(sandbox.PathPhoneNumber, sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: sandbox.CodeSystemBusy})
	resp, r := e.send(t, c, ev)
	mustRefuse(t, resp, r, http.StatusServiceUnavailable, miniprogram.ReplyUnavailable, "")
	if !r.Retry {
		t.Fatal("503 without retry")
	}
	e.sb.Inject(sandbox.PathPhoneNumber, sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: sandbox.CodeMinuteQuota})
	resp, r = e.send(t, c, ev)
	mustRefuse(t, resp, r, http.StatusServiceUnavailable, miniprogram.ReplyUnavailable, "")
	if resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	sendOK(t, e, c, ev)

	// An intake-only connection (no app_secret) cannot exchange codes.
	intakeOnly := e.connector(t, map[string]any{"app_secret": ""})
	code, _ = e.sb.IssuePhoneCode(u.OpenID)
	resp, r = e.send(t, intakeOnly, e.brand.PhoneBoundCode(u, code))
	mustRefuse(t, resp, r, http.StatusBadRequest, miniprogram.ReplyInvalidPhoneCode, "data.phone_code")
}

func sendOK(t *testing.T, e *env, c *miniprogram.Connector, ev sandbox.Event) {
	t.Helper()
	resp, r := e.send(t, c, ev)
	mustAccept(t, resp, r, 1)
}

func TestWebhookOverGRPC(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The remote connector runs on the wall clock: sign at the wall clock.
	brand := e.brand
	remote := sdk.NewTestRemote(t, miniprogram.Plugin, conformance.NewFakeHost(), "brand-a", "mini")
	raw, _ := json.Marshal(e.config(nil))
	u := e.user(t, 9)
	code, _ := e.sb.IssuePhoneCode(u.OpenID)
	ev := brand.OrderEvent("order_paid", "BO-GRPC-1", u, 100, sandbox.Line{SKU: "S1", Title: "精华液 30ml", Quantity: 2, UnitPriceFen: 45650})
	send := func(body []byte, at time.Time) (sdk.WebhookResponse, miniprogram.Reply) {
		t.Helper()
		resp, err := remote.HandleWebhook(t.Context(), raw, e.signedAt(t, brand, body, at))
		if err != nil {
			t.Fatalf("HandleWebhook over gRPC: %v", err)
		}
		return resp, reply(t, resp)
	}
	now := time.Now()
	resp, r := send(brand.Body(ev), now)
	mustAccept(t, resp, r, 1)
	o := resp.Records[0].Order
	if o == nil || o.OrderID != "BO-GRPC-1" || o.TotalFen != 91300 || o.PaidFen != 91200 || o.Status != mapping.OrderPaid || len(o.Items) != 1 || o.Items[0].UnitPriceFen != 45650 {
		t.Fatalf("order over gRPC %+v", o)
	}
	if resp.Header.Get("Content-Type") == "" {
		t.Fatal("no content type over gRPC")
	}
	resp, r = send(brand.Body(ev), now)
	mustAccept(t, resp, r, 1)
	if !r.Repeated || resp.Records[0].Order.OrderID != "BO-GRPC-1" {
		t.Fatalf("repeat over gRPC: %+v %+v", r, resp.Records[0])
	}
	resp, err := remote.HandleWebhook(t.Context(), raw, e.signedAt(t, brand.WithSecret("forged-secret-forged-secret"), brand.Body(brand.Login(u)), now))
	if err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, resp, reply(t, resp), http.StatusUnauthorized, miniprogram.ReplyBadSignature, "")
	resp, r = send(brand.Body(brand.PhoneBoundCode(u, code)), now)
	mustAccept(t, resp, r, 1)
	if ids := resp.Records[0].Member.Identities; len(ids) != 2 || ids[1].Value != u.Phone {
		t.Fatalf("phone over gRPC %v", ids)
	}
}

// readmeSignature is the signature of README.md's worked example.
const readmeSignature = "sha256=3b34511817453278c259edb8fd9fba0097a899736edcaaf73fa121d3703814bc"

func TestSignatureRecipe(t *testing.T) {
	t.Parallel()
	// The README's worked example; openssl gives the same:
	//   printf '%s' '1714528800.{"event_id":"evt_1"}' | openssl dgst -sha256 -hmac 'whsec_example_secret_0123456789'
	got := miniprogram.Sign("whsec_example_secret_0123456789", 1714528800, []byte(`{"event_id":"evt_1"}`))
	if got != readmeSignature {
		t.Fatalf("Sign = %s, want %s", got, readmeSignature)
	}
	b := sandbox.New(sandbox.Config{Members: -1, EventSecret: "whsec_example_secret_0123456789"}).Brand()
	if s := b.Sign(1714528800, []byte(`{"event_id":"evt_1"}`)); s != got {
		t.Fatalf("the sandbox's brand signs %s, the connector %s", s, got)
	}
}
