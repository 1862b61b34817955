package douyin_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin"
	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
	"github.com/channelhub/channelhub/sdk/conformance"
)

// nextSecond waits for the wall clock's next second. The conformance kit
// runs the connector on the wall clock and the incremental check needs the
// sandbox's changes to fall in a later update second than the full read's
// bookmark; update times are whole seconds.
func nextSecond() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second).Sub(now))
}

// lag is the connection's lag: 0, so the incremental read right after
// Mutate sees the orders it moved.
const lag = time.Duration(0)

// listed counts the sandbox's orders a full read started at now lists: one
// without a checkpoint covers update seconds from the platform's 90-day
// horizon (doudian.EarliestStart, exclusive) to now − lag, rounded up to
// whole seconds, so orders updated within the last lag are left for the
// next read. The records are parent orders, one per sandbox order.
func listed(t *testing.T, sb *sandbox.Server, now time.Time) int {
	from := doudian.EarliestStart(now).Unix()
	until := now.Unix() - int64((lag+time.Second-1)/time.Second)
	n := 0
	for i := range sb.OrderCount() {
		o, ok := sb.Order(sb.OrderID(i))
		if !ok {
			t.Fatalf("no order %s", sb.OrderID(i))
		}
		if o.UpdateTime > from && o.UpdateTime <= until {
			n++
		}
	}
	return n
}

func TestConformance(t *testing.T) {
	sb := sandbox.New(sandbox.Config{Members: 1000, Orders: 1500})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	cfg := sb.Config()
	target := firstMember(t, sb)
	conformance.Run(t, conformance.Harness{
		Plugin: douyin.Plugin,
		Config: map[string]any{
			"app_key": cfg.AppKey, "app_secret": cfg.AppSecret, "shop_id": cfg.ShopID, "brand": cfg.Brand,
			"member_app_id": cfg.MemberAppID, "api_base": srv.URL, "lag": lag.String(),
		},
		Seeded:         map[string]int{douyin.StreamOrders: listed(t, sb, sb.Now())},
		BadCredentials: map[string]any{"app_secret": "not-the-secret"},
		Mutate: func(*testing.T, string) []string {
			nextSecond()
			return sb.Step(6)
		},
		Throttle: func(t *testing.T) {
			if err := sb.InjectFault(sandbox.Fault{Method: doudian.MethodOrderSearchList, Kind: sandbox.FaultError, Code: doudian.CodeThrottled, Count: 3}); err != nil {
				t.Fatal(err)
			}
		},
		WriteAction: &sdk.Action{Key: "conf-level-1", Type: douyin.ActionMemberLevel, Params: map[string]string{douyin.ParamLevel: "9"},
			Target: []mapping.Identity{{Type: mapping.IDDouyinOpenID, Scope: shopScope(cfg), Value: target.OpenID}}},
		VerifyWrite: func(t *testing.T) {
			m, ok := sb.Member(target.OpenID)
			if !ok || m.Level != 9 {
				t.Fatalf("member level %d, want 9", m.Level)
			}
		},
	})
}
