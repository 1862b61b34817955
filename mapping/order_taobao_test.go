package mapping_test

import (
	"testing"

	"github.com/channelhub/channelhub/mapping"
)

// Every trade status of the fact sheet (commerce.md §1.5).
func TestTaobaoOrderStatus(t *testing.T) {
	t.Parallel()
	for status, want := range map[string]mapping.OrderStatus{
		"TRADE_NO_CREATE_PAY":      mapping.OrderPendingPayment,
		"WAIT_BUYER_PAY":           mapping.OrderPendingPayment,
		"PAY_PENDING":              mapping.OrderPendingPayment,
		"WAIT_PRE_AUTH_CONFIRM":    mapping.OrderPendingPayment,
		"WAIT_SELLER_SEND_GOODS":   mapping.OrderPaid,
		"PAID_FORBID_CONSIGN":      mapping.OrderPaid,
		"SELLER_CONSIGNED_PART":    mapping.OrderShipped,
		"WAIT_BUYER_CONFIRM_GOODS": mapping.OrderShipped,
		"TRADE_BUYER_SIGNED":       mapping.OrderCompleted,
		"TRADE_FINISHED":           mapping.OrderCompleted,
		"TRADE_CLOSED":             mapping.OrderRefunded,
		"TRADE_CLOSED_BY_TAOBAO":   mapping.OrderCancelled,
	} {
		if got, err := mapping.TaobaoOrderStatus(status); err != nil || got != want {
			t.Errorf("%s → %v, %v; want %v", status, got, err, want)
		}
	}
	for _, bad := range []string{"", "ALL_WAIT_PAY", "trade_finished"} {
		if _, err := mapping.TaobaoOrderStatus(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
