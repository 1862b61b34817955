package engine_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	smssandbox "github.com/channelhub/channelhub/connectors/sms/sandbox"
	"github.com/channelhub/channelhub/hub/campaign"
	"github.com/channelhub/channelhub/hub/engine"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// A send Tencent refuses because the recipient is on its do-not-disturb list
// records the recipient's opt-out on the member, through the real SMS plugin
// process: the hub's policy then refuses the next marketing send to them, on
// any connection.
func TestDoNotDisturbRefusalRecordsAnOptOut(t *testing.T) {
	t.Parallel()
	sb := smssandbox.New(smssandbox.Config{Provider: smssandbox.Tencent})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := sb.Config()
	yaml := oneConnection(t, "sms-tencent", "sms", map[string]any{
		"provider": "tencent", "access_key_id": c.AccessKeyID, "access_key_secret": c.AccessKeySecret, "sdk_app_id": c.SdkAppID,
		"sign_name": c.SignNames[0], "template": c.Templates[0].ID, "endpoint": strings.TrimPrefix(srv.URL, "http://"), "scheme": "http",
	}, `      - id: sms
        connection: sms-tencent
        write: [sms.send]
`)
	eng, st := engineFor(t, yaml, nil)
	ctx := t.Context()
	if _, err := st.EnsureTenant(ctx, "t1", nil); err != nil {
		t.Fatal(err)
	}

	// Two members who opted in at the store; one has since unsubscribed at
	// the provider (an opt-out reply the hub has not read).
	now := time.Now()
	var recs []sdk.Record
	for i, p := range []string{"+8613800138101", "+8613800138102"} {
		recs = append(recs, sdk.Record{ID: fmt.Sprint("C", i), UpdatedAt: now.Add(-time.Hour), Member: &mapping.Member{
			Identities: []mapping.Identity{{Type: mapping.IDMemberCard, Scope: "brand", Value: fmt.Sprint("C", i)}, {Type: mapping.IDPhone, Value: p}},
			Consents:   []mapping.Consent{{Channel: mapping.ConsentSMS, OptIn: true, Source: "pos", At: now.Add(-time.Hour)}},
		}})
	}
	if _, err := st.ApplyBatch(ctx, store.Batch{Tenant: "t1", Job: "pos", Connection: "pos", Stream: "members", Records: recs, At: now}); err != nil {
		t.Fatal(err)
	}
	sb.InjectReply("+8613800138102", "R")
	policy := campaign.DefaultPolicy()
	policy.AllowedFrom, policy.AllowedTo = 0, 24*60
	policy.Templates = map[string]campaign.Template{"2000003": {Marketing: true, Text: "会员日全场8折，拒收请回复R"}}
	if err := policy.Validate(); err != nil {
		t.Fatal(err)
	}
	queued, err := st.QueueSMS(ctx, "t1", store.SMSRequest{Connection: "sms-tencent", Template: "2000003", All: true, At: now}, &policy)
	if err != nil || queued.Queued != 2 {
		t.Fatalf("queued %+v, %v", queued, err)
	}
	// Tencent refuses the unsubscribed number; the other is sent, or
	// refused too outside its marketing hours (08:00–22:00 China time), which
	// says nothing of consent.
	res, err := eng.Run(ctx, engine.Request{Tenant: "t1", Job: "sms"})
	if err != nil || res.Writes.Refused < 1 || res.Writes.Delivered+res.Writes.Refused != 2 {
		t.Fatalf("run %+v, %v: want the unsubscribed number refused", res.Writes, err)
	}

	m, err := st.FindMember(ctx, "t1", mapping.Identity{Type: mapping.IDMemberCard, Scope: "brand", Value: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := st.QueueSMS(ctx, "t1", store.SMSRequest{Connection: "sms-tencent", Template: "2000003", Members: []string{m.MemberID}, At: now.Add(time.Hour)}, &policy)
	if err != nil || again.Queued != 0 || len(again.Refused) != 1 || !strings.Contains(again.Refused[0].Reason, "opted out of SMS") || !strings.Contains(again.Refused[0].Reason, "sms:tencent:do-not-disturb") {
		t.Fatalf("next send to the unsubscribed member = %+v, %v", again, err)
	}
	// The other member has no opt-out, whatever Tencent answered for it.
	other, _ := st.FindMember(ctx, "t1", mapping.Identity{Type: mapping.IDMemberCard, Scope: "brand", Value: "C0"})
	if ok, err := st.QueueSMS(ctx, "t1", store.SMSRequest{Connection: "sms-tencent", Template: "2000003", Members: []string{other.MemberID}, At: now.Add(time.Hour)}, &policy); err != nil || ok.Queued != 1 {
		t.Fatalf("next send to the subscribed member = %+v, %v", ok, err)
	}
}
