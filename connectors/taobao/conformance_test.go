package taobao_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao"
	"github.com/channelhub/channelhub/connectors/taobao/sandbox"
	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

// nextSecond waits for the wall clock's next second: modified times are
// whole seconds, and a read covers only seconds that have fully elapsed.
func nextSecond() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second).Sub(now))
}

// backfilled counts the sandbox's trades a full read started at now lists:
// with no checkpoint it backfills those created from the platform's three
// months back (less the connector's margin) to the read's end; the
// increments after the backfill start at that end, so they add none. lag is
// 0 and every seeded trade was created at least a minute before the
// sandbox's start, so only the horizon can leave one out.
func backfilled(t *testing.T, sb *sandbox.Server, now time.Time) int {
	horizon := now.Add(-top.History + taobao.HorizonMargin)
	n := 0
	for i := range sb.TradeCount() {
		tr, ok := sb.Trade(sb.TID(i))
		if !ok {
			t.Fatalf("no trade %s", sb.TID(i))
		}
		created, err := top.ParseTime(tr.Created)
		if err != nil {
			t.Fatal(err)
		}
		if !created.Before(horizon) && created.Before(now) {
			n++
		}
	}
	return n
}

func TestConformance(t *testing.T) {
	sb := sandbox.New(sandbox.Config{Members: 600, Orders: 900})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	cfg := sb.Config()
	target := sb.BrandMembers()[0]
	conformance.Run(t, conformance.Harness{
		Plugin: taobao.Plugin,
		Config: map[string]any{
			"app_key": cfg.AppKey, "app_secret": cfg.AppSecret, "session": cfg.Session, "shop": cfg.SellerID,
			"brand": cfg.Brand, "api_base": srv.URL, "lag": "0s", "page_size": 100,
		},
		BadCredentials: map[string]any{"app_secret": "not-the-secret"},
		Streams:        []string{taobao.StreamOrders, taobao.StreamMembers},
		// members: a full read pages taobao.crm.members.get, which lists
		// every CRM member (far fewer than its 1000-page limit).
		Seeded: map[string]int{taobao.StreamOrders: backfilled(t, sb, time.Now()), taobao.StreamMembers: len(sb.ShopMembers())},
		Mutate: func(_ *testing.T, stream string) []string {
			nextSecond()
			var ids []string
			if stream == taobao.StreamMembers {
				ids = sb.TouchMembers(5)
			} else {
				ids = sb.Step(6)
			}
			nextSecond()
			return ids
		},
		Throttle: func(t *testing.T) {
			if err := sb.InjectFault(sandbox.Fault{Kind: sandbox.FaultError, Code: top.CodeAppCallLimited, SubCode: top.SubLimitedByAPIAccessCount,
				SubMsg: "This ban will last for 1 more seconds", Count: 3}); err != nil {
				t.Fatal(err)
			}
		},
		WriteAction: &sdk.Action{Key: "conf-level-1", Type: taobao.ActionMemberLevel, Params: map[string]string{taobao.ParamLevel: "9"},
			Target: []mapping.Identity{{Type: mapping.IDPhone, Value: "+86" + target.Mobile}, {Type: mapping.IDTaobaoOUID, Scope: cfg.SellerID, Value: target.OUID}}},
		VerifyWrite: func(t *testing.T) {
			m, ok := sb.MemberByOUID(target.OUID)
			if !ok || m.Level != 9 {
				t.Fatalf("member level %d, want 9", m.Level)
			}
		},
	})
}
