package engine_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	taobaosandbox "github.com/channelhub/channelhub/connectors/taobao/sandbox"
	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/hub/engine"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/mapping"
)

// A Tmall point change is answered "done" only once the hub has committed
// its ledger entry, through the Taobao plugin process: a store failure
// leaves it unanswered and unconfirmed; Tmall delivers it again, the hub
// stores it, and the next run answers it, once.
func TestTmallPointChangeAnsweredAfterCommit(t *testing.T) {
	t.Parallel()
	sb := taobaosandbox.New(taobaosandbox.Config{Members: 50, Orders: 10, Redeliver: time.Nanosecond})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := sb.Config()
	yaml := oneConnection(t, "tmall", "taobao", map[string]any{"app_key": c.AppKey, "app_secret": c.AppSecret, "session": c.Session,
		"shop": c.SellerID, "brand": c.Brand, "api_base": srv.URL}, `      - id: tmc
        connection: tmall
        read: [tmc]
        mode: incremental
`)
	fs := &failingStore{fail: 1}
	eng, st := engineFor(t, yaml, func(s store.Store) store.Store { fs.Store = s; return fs })
	ctx := t.Context()
	m := sb.BrandMembers()[0]
	rec := sb.PublishPointChange(m.OUID, -30, "兑换")

	if _, err := eng.Run(ctx, engine.Request{Tenant: "t1", Job: "tmc"}); err == nil {
		t.Fatal("run with a failing store succeeded")
	}
	if a := sb.PointAnswers(rec); len(a) != 0 || sb.Unconfirmed() != 1 {
		t.Fatalf("after a failed store: answers %+v, %d unconfirmed; want none answered or confirmed", a, sb.Unconfirmed())
	}
	for run := 2; run <= 3; run++ {
		if _, err := eng.Run(ctx, engine.Request{Tenant: "t1", Job: "tmc"}); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
	}
	if got := sb.PointAnswers(rec); len(got) != 1 || got[0].Result != top.PointChangeDone || got[0].Point != "-30" {
		t.Fatalf("answers %+v, want one done", got)
	}
	if sb.Unconfirmed() != 0 {
		t.Fatalf("%d unconfirmed after the answer", sb.Unconfirmed())
	}
	v, err := st.FindMember(ctx, "t1", mapping.Identity{Type: mapping.IDTaobaoOMID, Scope: c.Brand, Value: m.OMID})
	if err != nil || v.Points != -30 {
		t.Fatalf("member %+v, %v: want the -30 entry in the ledger", v, err)
	}
	if stats, err := st.Stats(ctx, "t1"); err != nil || stats.PointsEntries != 1 {
		t.Fatalf("%d ledger entries (%v), want the change once however often it came", stats.PointsEntries, err)
	}
}

// Tmall's bind.query is answered by the Taobao plugin process from the
// hub's store, through the host service: a mobile nobody holds is E01; one
// the tenant knows from other connections only (or from this connection's
// records that do not carry it) is E02; one this connection's records
// carry is SUC with the member's points balance. The question itself
// stores nothing.
func TestTmallBindQueryAnsweredFromTheStore(t *testing.T) {
	t.Parallel()
	sb := taobaosandbox.New(taobaosandbox.Config{Members: 50, Orders: 10, Redeliver: time.Nanosecond})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := sb.Config()
	conn, _ := json.Marshal(map[string]any{"app_key": c.AppKey, "app_secret": c.AppSecret, "session": c.Session,
		"shop": c.SellerID, "brand": c.Brand, "api_base": srv.URL})
	yaml := fmt.Sprintf(`data_dir: %s
plugins_dir: %s
tenants:
  - id: t1
    connections:
      - id: tmall
        connector: taobao
        config: %s
      - id: tmall-b
        connector: taobao
        config: %s
    jobs:
      - id: tmc-b
        connection: tmall-b
        read: [tmc]
        mode: incremental
      - id: crm
        connection: tmall
        read: [members]
        mode: full
`, t.TempDir(), plugins(t), conn, conn)
	eng, st := engineFor(t, yaml, nil)
	hub := httptest.NewServer(eng.WebhookHandler())
	t.Cleanup(hub.Close)
	m := sb.BrandMembers()[0]
	call := func(connection, method string) top.SPIReply {
		t.Helper()
		status, body := send(t)(sb.MemberSPIRequest(t.Context(), hub.URL+"/webhooks/t1/"+connection, method, m.OUID))
		var r top.SPIReply
		if err := json.Unmarshal(body, &r); err != nil || status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", connection, method, status, body)
		}
		return r
	}

	if r := call("tmall", top.SPIBindQuery); r.QueryCode != top.SPICodeNoMember {
		t.Fatalf("nobody known: %+v, want E01", r)
	}
	if stats, err := st.Stats(t.Context(), "t1"); err != nil || stats.Members != 0 {
		t.Fatalf("the question stored %d members (%v)", stats.Members, err)
	}
	if r := call("tmall-b", top.SPIRegister); r.QueryCode != top.SPICodeOK {
		t.Fatalf("register: %+v", r)
	}
	if r := call("tmall", top.SPIBindQuery); r.QueryCode != top.SPICodeNotBound || r.Member != nil {
		t.Fatalf("known through another connection only: %+v, want E02 without member data", r)
	}
	// The shop's CRM members carry no mobile: a CRM record of the person
	// does not make the number bound here, so Tmall is asked to bind.
	if _, err := eng.Run(t.Context(), engine.Request{Tenant: "t1", Job: "crm"}); err != nil {
		t.Fatal(err)
	}
	if v, err := st.FindMember(t.Context(), "t1", mapping.Identity{Type: mapping.IDTaobaoOUID, Scope: c.SellerID, Value: m.OUID}); err != nil ||
		!slices.Contains(v.Sources, store.SourceRef{Connection: "tmall", RecordID: m.OUID}) {
		t.Fatalf("the CRM sync did not store the person's member record: %+v %v", v, err)
	}
	if r := call("tmall", top.SPIBindQuery); r.QueryCode != top.SPICodeNotBound {
		t.Fatalf("after the CRM sync: %+v, want E02", r)
	}
	if r := call("tmall", top.SPIBind); r.QueryCode != top.SPICodeOK {
		t.Fatalf("bind: %+v", r)
	}
	if r := call("tmall", top.SPIBindQuery); r.QueryCode != top.SPICodeOK {
		t.Fatalf("after bind: %+v, want SUC", r)
	}
	// Another Taobao account with the same mobile (a family's) is not
	// bound by the first one's bind.
	body, _ := json.Marshal(top.SPIMember{Nick: "family", Mobile: m.Mobile, OUID: "ou-family-" + m.OUID})
	status, answer := send(t)(top.NewSPIRequest(t.Context(), hub.URL+"/webhooks/t1/tmall", c.AppKey, c.AppSecret, top.SPIBindQuery, body, time.Now()))
	if status != http.StatusOK || !strings.Contains(string(answer), `"query_code":"E02"`) {
		t.Fatalf("the family's other account: %d %s, want E02", status, answer)
	}
	if r := call("tmall-b", top.SPIBindQuery); r.QueryCode != top.SPICodeOK || r.Member == nil || r.Member.Point != 0 {
		t.Fatalf("bound: %+v, want SUC with no points yet", r)
	}
	sb.PublishPointChange(m.OUID, 120, "签到")
	if _, err := eng.Run(t.Context(), engine.Request{Tenant: "t1", Job: "tmc-b"}); err != nil {
		t.Fatal(err)
	}
	if r := call("tmall-b", top.SPIBindQuery); r.QueryCode != top.SPICodeOK || r.Member == nil || r.Member.Point != 120 || r.Member.Mobile != m.Mobile {
		t.Fatalf("after +120: %+v, want SUC with 120 points", r)
	}
}
