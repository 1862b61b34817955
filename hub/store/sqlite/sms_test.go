package sqlite_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/hub/campaign"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

func TestQueueSMSChecksEveryRecipient(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := t.Context()
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, mapping.Shanghai)
	withConsent := func(r sdk.Record, optIn bool, when time.Time) sdk.Record {
		r.Member.Consents = append(r.Member.Consents, mapping.Consent{Channel: mapping.ConsentSMS, OptIn: optIn, Source: "pos", At: when})
		return r
	}
	apply(t, s, "pos", nil,
		withConsent(member("C1", card("C1"), phone("139 3000 0001")), true, at.Add(-48*time.Hour)),
		member("C2", card("C2"), phone("139 3000 0002")),
		withConsent(member("C3", card("C3"), phone("139 3000 0003")), true, at.Add(-48*time.Hour)),
		withConsent(member("C4", card("C4")), true, at.Add(-48*time.Hour)),
	)
	// C3 replied TD yesterday: an opt-out record from the SMS connection.
	apply(t, s, "sms", nil, withConsent(member("reply-1", phone("+8613930000003")), false, at.Add(-24*time.Hour)))
	ids := map[string]string{}
	for _, c := range []string{"C1", "C2", "C3", "C4"} {
		ids[c] = memberOf(t, s, card(c))
	}
	policy := campaign.DefaultPolicy()
	policy.Templates = map[string]campaign.Template{"PROMO": {Marketing: true, Text: "会员日8折。拒收请回复R"}}
	res, err := s.QueueSMS(ctx, "t1", store.SMSRequest{Connection: "sms", Template: "PROMO", Params: map[string]string{"name": "x"}, All: true, At: at}, &policy)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, r := range res.Refused {
		reasons[r.MemberID] = r.Reason
	}
	if res.Queued != 1 || len(res.Refused) != 3 ||
		!strings.Contains(reasons[ids["C2"]], campaign.ReasonNoOptIn) ||
		!strings.Contains(reasons[ids["C3"]], campaign.ReasonOptedOut) ||
		!strings.Contains(reasons[ids["C4"]], campaign.ReasonNoPhone) {
		t.Fatalf("queued %d, refused %v", res.Queued, reasons)
	}
	items, err := s.PendingActions(ctx, "t1", "sms", []string{store.ActionSMSSend}, 10)
	if err != nil || len(items) != 1 || items[0].MemberID != ids["C1"] {
		t.Fatalf("pending = %+v, %v", items, err)
	}
	if !slices.Equal(items[0].Action.Target, []mapping.Identity{{Type: mapping.IDPhone, Value: "+8613930000001"}}) || items[0].Action.Params["template"] != "PROMO" {
		t.Fatalf("action = %+v", items[0].Action)
	}
	// The same campaign again a minute later: the number's limit holds it.
	res, err = s.QueueSMS(ctx, "t1", store.SMSRequest{Connection: "sms", Template: "PROMO", Members: []string{ids["C1"]}, At: at.Add(20 * time.Second)}, &policy)
	if err != nil || res.Queued != 0 || len(res.Refused) != 1 || !strings.Contains(res.Refused[0].Reason, "1 a minute") {
		t.Fatalf("second send = %+v, %v", res, err)
	}
	if _, err := s.QueueSMS(ctx, "t1", store.SMSRequest{Connection: "sms", Template: "NOPE", All: true, At: at}, &policy); err == nil || !strings.Contains(err.Error(), "not declared") {
		t.Fatalf("undeclared template: %v", err)
	}
	// The outbox counts the one queued and the four refused.
	want := []store.OutboxCount{{Tenant: "t1", Connection: "sms", Action: store.ActionSMSSend, Pending: 1, Refused: 4}}
	if got, err := s.Outbox(ctx, "t1"); err != nil || !slices.Equal(got, want) {
		t.Fatalf("outbox = %+v, %v; want %+v", got, err, want)
	}
	// Refused recipients are not queued again by a retry of failures.
	if n, err := s.RequeueFailed(ctx, "t1", "sms", ""); err != nil || n != 0 {
		t.Fatalf("requeue = %d, %v; want 0 (refusals stay refused)", n, err)
	}
}

func TestQueueActionTargetsOnlyTheConnectionsOwnPhones(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := t.Context()
	ouid := mapping.Identity{Type: mapping.IDTaobaoOUID, Scope: "shop1", Value: "ou1"}
	// The POS knows the member's phone and card; Tmall registered the same
	// person with a mobile of its own record.
	apply(t, s, "pos", nil, member("C1", card("C1"), phone("139 5000 0001"), phone("139 5000 0009")))
	apply(t, s, "tmall", nil, member("ou1", ouid, phone("139 5000 0001")))
	apply(t, s, "wechat", nil, member("o1", openid("wx1", "o1"), union("U5"), card("C1")))
	m := memberOf(t, s, ouid)
	writers := func(c string) []string {
		if c == "tmall" || c == "wechat" {
			return []string{"member.level"}
		}
		return nil
	}
	conns, err := s.QueueAction(ctx, "t1", m, "member.level", map[string]string{"level": "3"}, writers)
	if err != nil || !slices.Equal(conns, []string{"tmall", "wechat"}) {
		t.Fatalf("queued for %v, %v", conns, err)
	}
	tm, err := s.PendingActions(ctx, "t1", "tmall", []string{"member.level"}, 10)
	if err != nil || len(tm) != 1 || tm[0].Action.Params["level"] != "3" {
		t.Fatalf("tmall = %+v, %v", tm, err)
	}
	if !slices.Contains(tm[0].Action.Target, mapping.Identity{Type: mapping.IDPhone, Value: "+8613950000001"}) ||
		slices.Contains(tm[0].Action.Target, mapping.Identity{Type: mapping.IDPhone, Value: "+8613950000009"}) {
		t.Fatalf("tmall targets = %v: want its own mobile and not the POS's other number", tm[0].Action.Target)
	}
	wx, err := s.PendingActions(ctx, "t1", "wechat", []string{"member.level"}, 10)
	if err != nil || len(wx) != 1 || slices.ContainsFunc(wx[0].Action.Target, func(id mapping.Identity) bool { return id.Type == mapping.IDPhone }) {
		t.Fatalf("wechat = %+v, %v: no phone came from WeChat", wx, err)
	}
}

// Delivery receipts are filed with the outbox items of their sends, by
// action key or by the provider's message id; the report counts them.
func TestReceiptsAreFiledWithTheirSends(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := t.Context()
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, mapping.Shanghai)
	var recs []sdk.Record
	for i := range 4 {
		r := member(fmt.Sprintf("C%d", i), card(fmt.Sprintf("C%d", i)), phone(fmt.Sprintf("139 3100 000%d", i)))
		r.Member.Consents = []mapping.Consent{{Channel: mapping.ConsentSMS, OptIn: true, Source: "pos", At: at.Add(-time.Hour)}}
		recs = append(recs, r)
	}
	apply(t, s, "pos", nil, recs...)
	policy := campaign.DefaultPolicy()
	policy.Templates = map[string]campaign.Template{"NOTE": {Text: "您的积分已更新"}}
	sent, err := s.QueueSMS(ctx, "t1", store.SMSRequest{Connection: "sms", Template: "NOTE", All: true, At: at}, &policy)
	if err != nil || sent.Queued != 4 {
		t.Fatalf("queued %+v, %v", sent, err)
	}
	items, err := s.PendingActions(ctx, "t1", "sms", []string{store.ActionSMSSend}, 10)
	if err != nil || len(items) != 4 {
		t.Fatalf("pending %d, %v", len(items), err)
	}
	// Three accepted by the provider (with its message ids), one failed.
	results := []store.OutboxResult{
		{ID: items[0].ID, Status: sdk.StatusApplied, PlatformRef: "biz-0"},
		{ID: items[1].ID, Status: sdk.StatusApplied, PlatformRef: "biz-1"},
		{ID: items[2].ID, Status: sdk.StatusApplied, PlatformRef: "biz-2"},
		{ID: items[3].ID, Status: sdk.StatusFailed, Error: "isv.MOBILE_NUMBER_ILLEGAL"},
	}
	if err := s.CompleteActions(ctx, "t1", results); err != nil {
		t.Fatal(err)
	}
	wantOutbox := []store.OutboxCount{{Tenant: "t1", Connection: "sms", Action: store.ActionSMSSend, Delivered: 3, Failed: 1}}
	if got, err := s.Outbox(ctx, ""); err != nil || !slices.Equal(got, wantOutbox) {
		t.Fatalf("outbox = %+v, %v; want %+v", got, err, wantOutbox)
	}
	receipt := func(id string, c sdk.Receipt) sdk.Record {
		return sdk.Record{ID: id, UpdatedAt: c.At, Receipt: &c}
	}
	batch := []sdk.Record{
		// By action key (Alibaba's out_id, Tencent's SessionContext).
		receipt("r0", sdk.Receipt{ActionKey: items[0].Action.Key, PlatformRef: "biz-0", Delivered: true, Code: "DELIVRD", At: at.Add(time.Minute)}),
		// By message id only (Tencent's status callback).
		receipt("r1", sdk.Receipt{PlatformRef: "biz-1", Code: "UNDELIV", Detail: "用户短信未送达", At: at.Add(time.Minute)}),
		// Another system's message on the same account.
		receipt("r9", sdk.Receipt{PlatformRef: "biz-other", Delivered: true, Code: "DELIVRD", At: at.Add(time.Minute)}),
	}
	res, err := s.ApplyBatch(ctx, store.Batch{Tenant: "t1", Job: "receipts", Connection: "sms", Stream: "receipts", Records: batch, At: at.Add(2 * time.Minute)})
	if err != nil || res.Receipts != 2 || res.UnknownReceipts != 1 || res.Written != 0 || res.NewMembers != 0 {
		t.Fatalf("apply receipts = %+v, %v", res, err)
	}
	// A report from before the one filed changes nothing; the same report
	// again neither.
	late := receipt("r0-old", sdk.Receipt{ActionKey: items[0].Action.Key, Code: "ACCEPTD", At: at})
	if res, err := s.ApplyBatch(ctx, store.Batch{Tenant: "t1", Job: "receipts", Connection: "sms", Stream: "receipts", Records: []sdk.Record{late, batch[0]}, At: at.Add(3 * time.Minute)}); err != nil || res.Receipts != 2 {
		t.Fatalf("older receipt = %+v, %v", res, err)
	}
	rep, err := s.SMSReport(ctx, "t1")
	if err != nil || len(rep) != 1 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	want := store.SMSCampaignReport{Campaign: sent.Campaign, Connection: "sms", Template: "NOTE", Sent: 3, Failed: 1, Delivered: 1, Undelivered: map[string]int{"UNDELIV": 1}, NoReceipt: 1}
	if !reflect.DeepEqual(rep[0], want) {
		t.Fatalf("report\n got %+v\nwant %+v", rep[0], want)
	}
	if st, _ := s.Stats(ctx, "t1"); st.Sources != 4 {
		t.Fatalf("receipts made source records: %+v", st)
	}
	// The failed send, listed with its reason, is queued again only for its
	// own connection and action.
	failed, err := s.OutboxEntries(ctx, "t1", "failed", 10)
	if err != nil || len(failed) != 1 || failed[0].ID != items[3].ID || failed[0].LastError != "isv.MOBILE_NUMBER_ILLEGAL" || failed[0].Attempts != 1 {
		t.Fatalf("failed = %+v, %v", failed, err)
	}
	for _, c := range []struct{ conn, action string }{{"other", ""}, {"sms", "tags.add"}} {
		if n, err := s.RequeueFailed(ctx, "t1", c.conn, c.action); err != nil || n != 0 {
			t.Fatalf("requeue %+v = %d, %v; want 0", c, n, err)
		}
	}
	if n, err := s.RequeueFailed(ctx, "t1", "sms", store.ActionSMSSend); err != nil || n != 1 {
		t.Fatalf("requeue = %d, %v; want 1", n, err)
	}
	again, err := s.PendingActions(ctx, "t1", "sms", []string{store.ActionSMSSend}, 10)
	if err != nil || len(again) != 1 || again[0].ID != items[3].ID {
		t.Fatalf("pending after requeue = %+v, %v", again, err)
	}
}
