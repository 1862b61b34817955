package taobao_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao"
	"github.com/channelhub/channelhub/connectors/taobao/sandbox"
	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

func TestBackfillReadsEveryTradeOnce(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, nil)
	k := e.connector(t, nil)
	c, err := read(t, k, taobao.StreamOrders, sdk.ModeFull, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := c.ids()
	if len(ids) != e.sb.TradeCount() {
		t.Fatalf("full read: %d trades, want %d", len(ids), e.sb.TradeCount())
	}
	if d := slices.Compact(slices.Sorted(slices.Values(ids))); len(d) != len(ids) {
		t.Fatal("duplicates")
	}
	statuses := map[string]bool{}
	for _, r := range c.recs {
		if r.Bad != nil {
			t.Fatalf("bad record: %s", r.Bad.Reason)
		}
		statuses[r.Order.PlatformStatus] = true
	}
	for _, s := range top.TradeStatuses() {
		if !statuses[s] {
			t.Errorf("no trade in status %s", s)
		}
	}
	var cp struct {
		Through time.Time `json:"through"`
	}
	if err := json.Unmarshal(c.last(), &cp); err != nil || !cp.Through.Equal(t0.Add(-time.Second)) {
		t.Fatalf("last checkpoint %s, want through = start − 1 s", c.last())
	}
}

// pageSpy records the page_no of every increment call and can act before
// one is served.
type pageSpy struct {
	mu     sync.Mutex
	pages  []string
	before func(page string)
}

func (p *pageSpy) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		q, _ := url.ParseQuery(string(b))
		if q.Get("method") == top.MethodTradesSoldIncrementGet {
			p.mu.Lock()
			p.pages = append(p.pages, q.Get("page_no"))
			f := p.before
			p.mu.Unlock()
			if f != nil {
				f(q.Get("page_no"))
			}
		}
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		h.ServeHTTP(w, r)
	})
}

// TestIncrementPagesBackwards: a window of 120 trades in one second (a run
// of equal modified times) is read from the last page to the first, and
// trades modified while it is paged are not skipped: those left in the
// window are read now, those moved out by the next read.
func TestIncrementPagesBackwards(t *testing.T) {
	spy := &pageSpy{}
	e := newEnv(t, sandbox.Config{}, spy.wrap)
	k := e.connector(t, nil)
	full, err := read(t, k, taobao.StreamOrders, sdk.ModeFull, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Add(10 * time.Second)
	run := e.sb.TouchTrades(120)
	e.clk.Add(10 * time.Second)
	spy.mu.Lock()
	spy.pages = nil
	var moved []string
	spy.before = func(page string) {
		if page == "3" && moved == nil {
			// The seller edits 10 of the trades while the window is paged:
			// they leave the window (modified now > its end).
			moved = run[100:110]
			for _, id := range moved {
				_ = e.sb.TouchTrade(id)
			}
		}
	}
	spy.mu.Unlock()
	inc, err := read(t, k, taobao.StreamOrders, sdk.ModeIncremental, full.last())
	if err != nil {
		t.Fatal(err)
	}
	spy.mu.Lock()
	pages := slices.Clone(spy.pages)
	spy.mu.Unlock()
	if want := []string{"1", "3", "2", "1"}; !slices.Equal(pages, want) {
		t.Fatalf("increment pages %v, want %v (page 1 for the total, then last to first)", pages, want)
	}
	got := map[string]bool{}
	for _, id := range inc.ids() {
		if got[id] {
			t.Fatalf("trade %s emitted twice", id)
		}
		got[id] = true
	}
	for _, id := range run {
		if !got[id] && !slices.Contains(moved, id) {
			t.Fatalf("trade %s of the window was skipped", id)
		}
	}
	// Checkpoints fall at window ends only: never inside the run's second.
	runSecond := t0.Add(10 * time.Second)
	for _, cp := range inc.cps {
		var c struct {
			Through time.Time `json:"through"`
		}
		_ = json.Unmarshal(cp, &c)
		if c.Through.Equal(runSecond.Add(-time.Second)) {
			t.Fatalf("checkpoint %s just before the run's second inside a window", cp)
		}
	}
	spy.mu.Lock()
	spy.before = nil
	spy.mu.Unlock()
	e.clk.Add(2 * time.Second)
	next, err := read(t, k, taobao.StreamOrders, sdk.ModeIncremental, inc.last())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range moved {
		if !slices.Contains(next.ids(), id) {
			t.Fatalf("trade %s modified during paging never read", id)
		}
	}
}

func TestIncrementWindowsAtMostOneDay(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, nil)
	k := e.connector(t, map[string]any{"window": "24h"})
	cp, _ := json.Marshal(map[string]any{"through": t0.Add(-50 * time.Hour)})
	c, err := read(t, k, taobao.StreamOrders, sdk.ModeIncremental, cp)
	if err != nil {
		t.Fatal(err) // the sandbox refuses spans over a day
	}
	if len(c.cps) != 3 {
		t.Fatalf("%d checkpoints for 50 h in 1-day windows, want 3", len(c.cps))
	}
	if _, err := taobao.New(context.Background(), mustConfig(t, e, map[string]any{"window": "25h"}), nil); !errors.Is(err, sdk.ErrInvalidConfig) {
		t.Fatalf("25h window: %v", err)
	}
}

func mustConfig(t *testing.T, e *env, over map[string]any) sdk.Config {
	raw := map[string]any{}
	for k, v := range e.raw {
		raw[k] = v
	}
	for k, v := range over {
		raw[k] = v
	}
	cfg, err := taobao.Spec.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestThrottleBanSeconds(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, nil)
	k := e.connector(t, nil)
	e.sb.Ban(12 * time.Second)
	_, err := read(t, k, taobao.StreamOrders, sdk.ModeFull, nil)
	if !errors.Is(err, sdk.ErrThrottled) || sdk.RetryAfter(err) != 13*time.Second {
		t.Fatalf("err %v, retry after %s; want throttled, 13s", err, sdk.RetryAfter(err))
	}
	var se *sdk.Error
	if !errors.As(err, &se) || se.PlatformCode != "7:"+top.SubLimitedByAppAccessCount {
		t.Fatalf("platform code %+v", se)
	}
	e.clk.Add(13 * time.Second)
	if _, err := read(t, k, taobao.StreamOrders, sdk.ModeFull, nil); err != nil {
		t.Fatal(err)
	}
}

func TestSessionExpired(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, nil)
	e.sb.ExpireSession()
	k := e.connector(t, nil)
	err := k.Check(context.Background())
	if !errors.Is(err, sdk.ErrAuth) || strings.Contains(err.Error(), e.sb.Config().Session) {
		t.Fatalf("expired session: %v", err)
	}
	// A service-market app refreshes, saves both tokens, and goes on.
	k = e.connector(t, map[string]any{"refresh_token": e.sb.Config().RefreshToken})
	if err := k.Check(context.Background()); err != nil {
		t.Fatalf("with refresh token: %v", err)
	}
	if len(e.host.Patches) != 1 || !strings.Contains(string(e.host.Patches[0]), `"session"`) || !strings.Contains(string(e.host.Patches[0]), `"refresh_token"`) {
		t.Fatalf("patches %q", e.host.Patches)
	}
}

func TestCheckBadSignature(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, nil)
	for _, m := range []string{"md5", "hmac", "hmac-sha256"} {
		if err := e.connector(t, map[string]any{"sign_method": m}).Check(context.Background()); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
	err := e.connector(t, map[string]any{"app_secret": "wrong-secret"}).Check(context.Background())
	if !errors.Is(err, sdk.ErrAuth) || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestTMCRedeliveryAndConfirm(t *testing.T) {
	e := newEnv(t, sandbox.Config{Redeliver: time.Minute}, nil)
	k := e.connector(t, nil)
	e.clk.Add(time.Second)
	changed := e.sb.Step(5)
	m := e.sb.BrandMembers()[0]
	rec := e.sb.PublishPointChange(m.OUID, -30, "兑换")

	r1, err := read(t, k, taobao.StreamTMC, sdk.ModeIncremental, nil)
	if err != nil {
		t.Fatal(err)
	}
	var orders, points []string
	for _, r := range r1.recs {
		switch {
		case r.Order != nil:
			orders = append(orders, r.ID)
		case r.Points != nil:
			points = append(points, r.ID)
			p := r.Points
			if p.Delta != -30 || p.Kind != mapping.PointsRedeem || p.Member.Type != mapping.IDTaobaoOMID || p.Member.Value != m.OMID || p.EntryID != "tmall_mei:"+rec {
				t.Fatalf("points entry %+v", p)
			}
		}
	}
	slices.Sort(orders)
	if !slices.Equal(orders, changed) || len(points) != 1 {
		t.Fatalf("tmc read: orders %v (want %v), points %v", orders, changed, points)
	}
	if n := e.sb.Unconfirmed(); n != 6 {
		t.Fatalf("%d unconfirmed after the first read, want 6 (confirmed only after the checkpoint is committed)", n)
	}

	// The checkpoint never reached the hub (crash): after the redelivery
	// time the messages come again and are emitted again.
	e.clk.Add(2 * time.Minute)
	r2, err := read(t, k, taobao.StreamTMC, sdk.ModeIncremental, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.ids()) != 6 {
		t.Fatalf("redelivery: %d records, want 6", len(r2.ids()))
	}

	// Resuming from the committed checkpoint confirms them: nothing comes
	// again, even after the redelivery time.
	r3, err := read(t, k, taobao.StreamTMC, sdk.ModeIncremental, r2.last())
	if err != nil {
		t.Fatal(err)
	}
	if len(r3.ids()) != 0 || e.sb.Unconfirmed() != 0 {
		t.Fatalf("after confirm: %d records, %d unconfirmed", len(r3.ids()), e.sb.Unconfirmed())
	}
	e.clk.Add(2 * time.Minute)
	r4, err := read(t, k, taobao.StreamTMC, sdk.ModeIncremental, r3.last())
	if err != nil || len(r4.ids()) != 0 {
		t.Fatalf("confirmed messages came again: %v %v", r4.ids(), err)
	}
}

// TestTMCPointChangesAnswered: Tmall waits to hear each point change
// processed. The answer goes out with the confirm, after the hub committed
// the entry: done for an entry, failed with a code for a change that could
// not be read; an outage while answering leaves the messages unconfirmed,
// and the retried read answers each change once.
func TestTMCPointChangesAnswered(t *testing.T) {
	e := newEnv(t, sandbox.Config{Redeliver: time.Minute}, nil)
	k := e.connector(t, nil)
	e.clk.Add(time.Second)
	m := e.sb.BrandMembers()[0]
	rec := e.sb.PublishPointChange(m.OUID, -30, "兑换")
	e.sb.PublishMessage(top.TopicPointChange, map[string]any{"record_id": "PC-HALF", "ouid": m.OUID, "point": 1.5})

	r1, err := read(t, k, taobao.StreamTMC, sdk.ModeIncremental, nil)
	if err != nil {
		t.Fatal(err)
	}
	var entries, bad int
	for _, r := range r1.recs {
		switch {
		case r.Points != nil:
			entries++
		case r.Bad != nil:
			bad++
		}
	}
	if entries != 1 || bad != 1 {
		t.Fatalf("read %d entries and %d bad records, want 1 and 1", entries, bad)
	}
	if a := e.sb.PointAnswers(rec); len(a) != 0 {
		t.Fatalf("answered before the hub committed the entry: %+v", a)
	}

	if err := e.sb.InjectFault(sandbox.Fault{Method: top.MethodMeiPointChangeCallback, Kind: sandbox.FaultHTTP5xx}); err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, k, taobao.StreamTMC, sdk.ModeIncremental, r1.last()); !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("answer 5xx: %v", err)
	}
	if n := e.sb.Unconfirmed(); n != 2 {
		t.Fatalf("%d unconfirmed after a failed answer, want 2 (confirmed only once answered)", n)
	}
	r2, err := read(t, k, taobao.StreamTMC, sdk.ModeIncremental, r1.last())
	if err != nil || len(r2.ids()) != 0 || e.sb.Unconfirmed() != 0 {
		t.Fatalf("retry: %v %v, %d unconfirmed", r2.ids(), err, e.sb.Unconfirmed())
	}
	mix := m.Mobile[:3] + "****" + m.Mobile[len(m.Mobile)-4:]
	if got, want := e.sb.PointAnswers(rec), []sandbox.PointAnswer{{Result: top.PointChangeDone, Point: "-30", MixMobile: mix}}; !slices.Equal(got, want) {
		t.Fatalf("answers to %s: %+v, want %+v", rec, got, want)
	}
	if got, want := e.sb.PointAnswers("PC-HALF"), []sandbox.PointAnswer{{Result: top.PointChangeFailed, ErrorCode: "UNREADABLE_POINT_CHANGE", Point: "1.5"}}; !slices.Equal(got, want) {
		t.Fatalf("answers to the unreadable change: %+v, want %+v", got, want)
	}
}

// TestTMCRefusedAnswerIsNotRetried: an answer Tmall refuses for good (it
// does not know the change) does not hold the stream up.
func TestTMCRefusedAnswerIsNotRetried(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, nil)
	k := e.connector(t, nil)
	e.clk.Add(time.Second)
	e.sb.Step(2)
	cp := []byte(`{"pending":[],"answers":[{"record_id":"PC-UNKNOWN","point":"5"}]}`)
	r, err := read(t, k, taobao.StreamTMC, sdk.ModeIncremental, cp)
	if err != nil || len(r.ids()) != 2 {
		t.Fatalf("read after a refused answer: %v %v", r.ids(), err)
	}
}

// TestTMCRedeliveredPendingNotEmittedTwice: messages delivered again before
// the committed checkpoint's confirm reached the platform are confirmed, not
// emitted again.
func TestTMCRedeliveredPendingNotEmittedTwice(t *testing.T) {
	e := newEnv(t, sandbox.Config{Redeliver: time.Minute}, nil)
	k := e.connector(t, nil)
	e.clk.Add(time.Second)
	e.sb.Step(3)
	r1, err := read(t, k, taobao.StreamTMC, sdk.ModeIncremental, nil)
	if err != nil || len(r1.ids()) != 3 {
		t.Fatalf("%v %v", r1.ids(), err)
	}
	// The confirm of the next read fails once (5xx): the read fails, the
	// platform redelivers, and the retried read must not emit them again.
	if err := e.sb.InjectFault(sandbox.Fault{Method: top.MethodTMCMessagesConfirm, Kind: sandbox.FaultHTTP5xx}); err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, k, taobao.StreamTMC, sdk.ModeIncremental, r1.last()); !errors.Is(err, sdk.ErrUnavailable) {
		t.Fatalf("confirm 5xx: %v", err)
	}
	e.clk.Add(2 * time.Minute)
	r2, err := read(t, k, taobao.StreamTMC, sdk.ModeIncremental, r1.last())
	if err != nil || len(r2.ids()) != 0 || e.sb.Unconfirmed() != 0 {
		t.Fatalf("retry: %v %v unconfirmed %d", r2.ids(), err, e.sb.Unconfirmed())
	}
}

func TestSPIWebhook(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, nil)
	k := e.connector(t, nil)
	m := e.sb.BrandMembers()[0]
	webhook := func(req *http.Request) (sdk.WebhookResponse, error) {
		body, _ := io.ReadAll(req.Body)
		return k.HandleWebhook(context.Background(), sdk.WebhookRequest{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Header: req.Header, Body: body})
	}
	req, err := e.sb.MemberSPIRequest(context.Background(), "http://hub/webhooks/t/c", top.SPIBind, m.OUID)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := webhook(req)
	if err != nil {
		t.Fatal(err)
	}
	var reply top.SPIReply
	if err := json.Unmarshal(resp.Body, &reply); err != nil || reply.QueryCode != top.SPICodeOK || resp.Status != 200 {
		t.Fatalf("reply %s %v", resp.Body, err)
	}
	if len(resp.Records) != 1 || resp.Records[0].Member == nil || resp.Records[0].Stream != taobao.StreamMembers {
		t.Fatalf("records %+v", resp.Records)
	}
	ids := resp.Records[0].Member.Identities
	cfg := e.sb.Config()
	for _, want := range []mapping.Identity{
		{Type: mapping.IDPhone, Value: "+86" + m.Mobile},
		{Type: mapping.IDTaobaoOMID, Scope: cfg.Brand, Value: m.OMID},
		{Type: mapping.IDTaobaoOUID, Scope: cfg.SellerID, Value: m.OUID},
		{Type: mapping.IDTaobaoBuyerOpenUID, Scope: cfg.AppKey, Value: m.OpenUID},
	} {
		if !slices.Contains(ids, want) {
			t.Fatalf("identities %+v lack %+v", ids, want)
		}
	}
	if strings.Contains(resp.Records[0].ID, m.Mobile) {
		t.Fatal("record id carries the phone")
	}

	// Forged: signed with another secret, or body changed after signing.
	forged, _ := sandbox.New(sandbox.Config{AppSecret: "attacker", Members: 50, Orders: 1, Now: e.clk.Now}).MemberSPIRequest(context.Background(), "http://hub/", top.SPIRegister, firstOUID(t, e))
	if forged != nil {
		resp, err := webhook(forged)
		if !errors.Is(err, sdk.ErrAuth) || len(resp.Records) != 0 {
			t.Fatalf("forged: %v %+v", err, resp.Records)
		}
	}
	tampered, _ := e.sb.MemberSPIRequest(context.Background(), "http://hub/", top.SPIRegister, m.OUID)
	tampered.Body = io.NopCloser(strings.NewReader(`{"mobile":"13900000000","ouid":"x"}`))
	if resp, err := webhook(tampered); !errors.Is(err, sdk.ErrAuth) || len(resp.Records) != 0 || strings.Contains(err.Error(), "13900000000") {
		t.Fatalf("tampered: %v %+v", err, resp.Records)
	}
	stale, _ := e.sb.MemberSPIRequest(context.Background(), "http://hub/", top.SPIRegister, m.OUID)
	e.clk.Add(10 * time.Minute)
	if _, err := webhook(stale); !errors.Is(err, sdk.ErrAuth) {
		t.Fatalf("stale: %v", err)
	}
}

// bind.query is answered from what the hub knows of the mobile, and
// stores nothing.
func TestSPIBindQuery(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, nil)
	m := e.sb.BrandMembers()[0]
	phone := mapping.Identity{Type: mapping.IDPhone, Value: "+86" + m.Mobile}
	for _, c := range []struct {
		name         string
		known        sdk.MemberLookup
		code         string
		point, level int64
	}{
		{"nobody holds the mobile", sdk.MemberLookup{}, top.SPICodeNoMember, 0, 0},
		{"known from other channels", sdk.MemberLookup{Found: true}, top.SPICodeNotBound, 0, 0},
		{"shared by several members", sdk.MemberLookup{Found: true, Shared: true}, top.SPICodeNotBound, 0, 0},
		{"bound through this connection", sdk.MemberLookup{Found: true, Linked: true, PointsBalance: 120, Level: "3"}, top.SPICodeOK, 120, 3},
		{"bound, level a grade name", sdk.MemberLookup{Found: true, Linked: true, PointsBalance: 5, Level: "金卡"}, top.SPICodeOK, 5, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.host.Members = map[mapping.Identity]sdk.MemberLookup{phone: c.known}
			k := e.connector(t, nil)
			req, err := e.sb.MemberSPIRequest(t.Context(), "http://hub/", top.SPIBindQuery, m.OUID)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(req.Body)
			resp, err := k.HandleWebhook(t.Context(), sdk.WebhookRequest{Method: req.Method, Query: req.URL.RawQuery, Header: req.Header, Body: body})
			if err != nil {
				t.Fatal(err)
			}
			var reply top.SPIReply
			if err := json.Unmarshal(resp.Body, &reply); err != nil || reply.QueryCode != c.code {
				t.Fatalf("reply %s (%v), want query_code %s", resp.Body, err, c.code)
			}
			if len(resp.Records) != 0 {
				t.Fatalf("a question stored %d records", len(resp.Records))
			}
			// Asked by the mobile, bound only with this account's ids.
			cfg := e.sb.Config()
			asked := e.host.Lookups[len(e.host.Lookups)-1]
			if want := []mapping.Identity{phone, {Type: mapping.IDTaobaoOMID, Scope: cfg.Brand, Value: m.OMID}, {Type: mapping.IDTaobaoOUID, Scope: cfg.SellerID, Value: m.OUID},
				{Type: mapping.IDTaobaoBuyerOpenUID, Scope: cfg.AppKey, Value: m.OpenUID}}; !slices.Equal(asked, want) {
				t.Fatalf("asked the hub %+v, want %+v", asked, want)
			}
			if c.code != top.SPICodeOK {
				if reply.Member != nil {
					t.Fatalf("reply %s carries a member", resp.Body)
				}
				return
			}
			if reply.Member == nil || reply.Member.Point != c.point || reply.Member.Level != c.level || reply.Member.Mobile != m.Mobile {
				t.Fatalf("reply %s, want point %d level %d and the asked mobile", resp.Body, c.point, c.level)
			}
		})
	}

	// A hub that cannot be asked gets E04 (Tmall retries), not a guess.
	k := e.connectorWith(t, nil, lookupFails{e.host})
	req, _ := e.sb.MemberSPIRequest(t.Context(), "http://hub/", top.SPIBindQuery, m.OUID)
	body, _ := io.ReadAll(req.Body)
	resp, err := k.HandleWebhook(t.Context(), sdk.WebhookRequest{Method: req.Method, Query: req.URL.RawQuery, Header: req.Header, Body: body})
	if err != nil || !strings.Contains(string(resp.Body), `"query_code":"E04"`) {
		t.Fatalf("lookup failing: %s %v, want E04", resp.Body, err)
	}

	// A malformed mobile cannot name anybody: E01, without asking the hub
	// (the failing host would have made it E04).
	cfg := e.sb.Config()
	bad, err := top.NewSPIRequest(t.Context(), "http://hub/", cfg.AppKey, cfg.AppSecret, top.SPIBindQuery, []byte(`{"nick":"n","mobile":"138-00x","ouid":"`+m.OUID+`"}`), e.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(bad.Body)
	resp, err = k.HandleWebhook(t.Context(), sdk.WebhookRequest{Method: bad.Method, Query: bad.URL.RawQuery, Header: bad.Header, Body: body})
	if err != nil || !strings.Contains(string(resp.Body), `"query_code":"E01"`) {
		t.Fatalf("malformed mobile: %s %v, want E01", resp.Body, err)
	}
}

type lookupFails struct{ sdk.HostService }

func (lookupFails) LookupMember(context.Context, mapping.Identity, ...mapping.Identity) (sdk.MemberLookup, error) {
	return sdk.MemberLookup{}, sdk.UnavailableError(nil, "store is down")
}

// firstOUID is a member ouid of a tiny sandbox with the same seed; ouids
// depend on the seed and seller only, so it signs for a real member.
func firstOUID(t *testing.T, e *env) string {
	t.Helper()
	ms := sandbox.New(sandbox.Config{AppSecret: "attacker", Members: 50, Orders: 1}).BrandMembers()
	if len(ms) == 0 {
		t.Skip("no brand member among 50 people")
	}
	return ms[0].OUID
}

func TestWritePoints(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, nil)
	k := e.connector(t, nil)
	m := e.sb.BrandMembers()[0]
	res := k.Write(context.Background(), []sdk.Action{
		{Key: "p1", Type: taobao.ActionPointsSet, Params: map[string]string{taobao.ParamPoints: "1234", taobao.ParamMobile: m.Mobile}},
		{Key: "p1", Type: taobao.ActionPointsSet, Params: map[string]string{taobao.ParamPoints: "1234", taobao.ParamMobile: m.Mobile}},
		{Key: "p2", Type: taobao.ActionPointsSet, Params: map[string]string{taobao.ParamPoints: "1.5", taobao.ParamMobile: m.Mobile}},
		{Key: "p3", Type: taobao.ActionMemberLevel, Params: map[string]string{taobao.ParamLevel: "2"}},
		{Key: "p4", Type: taobao.ActionMemberLevel, Params: map[string]string{taobao.ParamLevel: "2", taobao.ParamMobile: "13000000001"}},
		{Key: "p5", Type: "points.adjust", Params: map[string]string{taobao.ParamPoints: "2", taobao.ParamMobile: m.Mobile}},
	})
	want := []sdk.ActionStatus{sdk.StatusApplied, sdk.StatusDuplicate, sdk.StatusFailed, sdk.StatusFailed, sdk.StatusFailed, sdk.StatusFailed}
	for i, r := range res {
		if r.Status != want[i] {
			t.Errorf("action %d: %s %v, want %s", i, r.Status, r.Err, want[i])
		}
	}
	if got, _ := e.sb.MemberByOUID(m.OUID); got.Point != 1234 {
		t.Fatalf("points %d", got.Point)
	}
}

func TestMembersMapping(t *testing.T) {
	e := newEnv(t, sandbox.Config{}, nil)
	k := e.connector(t, nil)
	c, err := read(t, k, taobao.StreamMembers, sdk.ModeFull, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ids()) == 0 {
		t.Fatal("no members")
	}
	withOMID := 0
	for _, r := range c.recs {
		if r.Bad != nil {
			t.Fatalf("bad: %s", r.Bad.Reason)
		}
		mm := r.Member
		if mm.Identities[0].Type != mapping.IDTaobaoOUID || mm.Identities[0].Scope != e.sb.Config().SellerID || mm.Level == "" || mm.Attributes["trade_count"] == "" {
			t.Fatalf("member %+v", mm)
		}
		for _, id := range mm.Identities {
			if id.Type == mapping.IDTaobaoOMID && id.Scope == e.sb.Config().Brand {
				withOMID++
			}
		}
	}
	if withOMID == 0 {
		t.Fatal("no omids")
	}
}

// TestNoSecretsInErrors: neither the session nor the secret shows in any
// error a failing read returns.
func TestNoSecretsInErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		_, _ = w.Write([]byte(`{"error_response":{"code":15,"msg":"Remote service error","sub_code":"isv.x","sub_msg":"bad"}}`))
	}))
	defer srv.Close()
	e := newEnv(t, sandbox.Config{Orders: -1, Members: 10}, nil)
	k := e.connector(t, map[string]any{"api_base": srv.URL, "session": "SESSION-XYZ-SECRET"})
	_, err := read(t, k, taobao.StreamOrders, sdk.ModeFull, nil)
	if err == nil || strings.Contains(err.Error(), "SESSION-XYZ-SECRET") || strings.Contains(err.Error(), e.sb.Config().AppSecret) {
		t.Fatalf("err %v", err)
	}
}
