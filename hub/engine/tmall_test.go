package engine_test

import (
	"net/http/httptest"
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
