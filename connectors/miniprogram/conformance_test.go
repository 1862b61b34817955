package miniprogram_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/miniprogram"
	"github.com/channelhub/channelhub/connectors/miniprogram/sandbox"
	"github.com/channelhub/channelhub/sdk/conformance"
)

// nextSecond waits for the wall clock's next second. The conformance kit
// runs the connector on the wall clock; pay times are whole seconds, and an
// order paid in the second a read ends belongs to the next read.
func nextSecond() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second).Sub(now))
}

// backfill is how far back a full read of orders starts (the default).
const backfill = 90 * 24 * time.Hour

// listed counts the sandbox's orders a full read started at now lists: those
// paid in [now − lag − backfill, now − lag), lag being 0 here. Record ids
// are merchant_trade_no, one per order.
func listed(sb *sandbox.Server, now time.Time) int {
	end := now.Truncate(time.Second)
	n := 0
	for _, o := range sb.Orders() {
		if paid := time.Unix(o.PayTime, 0); !paid.Before(end.Add(-backfill)) && paid.Before(end) {
			n++
		}
	}
	return n
}

func TestConformance(t *testing.T) {
	sb := sandbox.New(sandbox.Config{Members: 1200})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	cfg := sb.ConnectionConfig(srv.URL)
	cfg["lag"] = "0s"
	cfg["window"] = "168h" // ~9 windows over the 60 seeded days: checkpoints to resume from
	cfg["backfill"] = backfill.String()
	conformance.Run(t, conformance.Harness{
		Plugin:         miniprogram.Plugin,
		Config:         cfg,
		BadCredentials: map[string]any{"app_secret": "not-the-secret"},
		Seeded:         map[string]int{miniprogram.StreamOrders: listed(sb, time.Now())},
		Mutate: func(*testing.T, string) []string {
			ids := sb.AddPaidOrders(6)
			nextSecond()
			return ids
		},
		Throttle: func(*testing.T) {
			sb.Inject(sandbox.PathOrderList, sandbox.Fault{Kind: sandbox.FaultErrCode, ErrCode: sandbox.CodeMinuteQuota, Times: 3})
		},
	})
}
