package xiaohongshu_test

import (
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/xiaohongshu"
	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/connectors/xiaohongshu/sandbox"
	"github.com/channelhub/channelhub/sdk/conformance"
)

// TestConformance runs the acceptance kit against the sandbox. The
// connector writes nothing back (Xiaohongshu has no member API to write to),
// so the harness has no WriteAction and the kit skips the write case.
//
// lag is 0 here: the sandbox lists a change the moment it is made, and the
// kit expects an incremental read right after Mutate to return it. With the
// default lag the change would be left for the next run (see
// TestBookmarkStaysBehindLag).
// backfilled counts the sandbox's orders a full read started at now lists.
// Without a checkpoint it backfills the orders created in the
// backfill_days (default) before now − lag (lag is 0 here), both ends
// included; the changes read after it start at that end, so they add none.
// Record ids are orderIds, one per order.
func backfilled(t *testing.T, sb *sandbox.Server, now time.Time) int {
	end := now.Unix()
	from := end - xiaohongshu.DefaultBackfillDays*24*60*60
	n := 0
	for _, id := range sb.OrderIDs() {
		o, ok := sb.Order(id)
		if !ok {
			t.Fatalf("no order %s", id)
		}
		if c := o.CreatedTime.Time().Unix(); c >= from && c <= end {
			n++
		}
	}
	return n
}

func TestConformance(t *testing.T) {
	sb := sandbox.New(sandbox.Config{Members: 800, Orders: 300})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	cfg := sb.Config()
	tok := sb.IssueToken()
	conformance.Run(t, conformance.Harness{
		Plugin: xiaohongshu.Plugin,
		Config: map[string]any{
			"app_id": cfg.AppID, "app_secret": cfg.AppSecret, "seller_id": cfg.SellerID,
			"refresh_token": tok.RefreshToken, "api_base": srv.URL, "lag": "0s",
		},
		BadCredentials: map[string]any{"app_secret": "not-the-app-secret"},
		Seeded:         map[string]int{xiaohongshu.StreamOrders: backfilled(t, sb, time.Now())},
		Mutate: func(*testing.T, string) []string {
			ids := append(sb.Advance(4), sb.AddOrders(3)...)
			slices.Sort(ids)
			return slices.Compact(ids)
		},
		Throttle: func(t *testing.T) {
			for _, m := range []string{ark.MethodGetOrderList, ark.MethodGetOrderDetail} {
				if err := sb.Inject(m, sandbox.Fault{Kind: sandbox.FaultErrorCode, ErrorCode: ark.CodeThrottled, Times: 2}); err != nil {
					t.Fatal(err)
				}
			}
		},
	})
}
