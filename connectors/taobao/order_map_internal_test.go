package taobao

import (
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/mapping"
)

// TestTaobaoOrderStatusTable covers every status of the fact sheet (§1.5)
// and of the client's list, through the table in mapping.
func TestTaobaoOrderStatusTable(t *testing.T) {
	want := map[string]mapping.OrderStatus{
		"TRADE_NO_CREATE_PAY":      mapping.OrderPendingPayment,
		"WAIT_BUYER_PAY":           mapping.OrderPendingPayment,
		"SELLER_CONSIGNED_PART":    mapping.OrderShipped,
		"WAIT_SELLER_SEND_GOODS":   mapping.OrderPaid,
		"WAIT_BUYER_CONFIRM_GOODS": mapping.OrderShipped,
		"TRADE_BUYER_SIGNED":       mapping.OrderCompleted,
		"TRADE_FINISHED":           mapping.OrderCompleted,
		"TRADE_CLOSED":             mapping.OrderRefunded,
		"TRADE_CLOSED_BY_TAOBAO":   mapping.OrderCancelled,
		"PAY_PENDING":              mapping.OrderPendingPayment,
		"WAIT_PRE_AUTH_CONFIRM":    mapping.OrderPendingPayment,
		"PAID_FORBID_CONSIGN":      mapping.OrderPaid,
	}
	if len(want) != len(top.TradeStatuses()) {
		t.Fatalf("table covers %d statuses, the fact sheet lists %d", len(want), len(top.TradeStatuses()))
	}
	for _, s := range top.TradeStatuses() {
		got, err := mapping.TaobaoOrderStatus(s)
		if err != nil || got != want[s] {
			t.Errorf("%s → %v, %v; want %v", s, got, err, want[s])
		}
	}
	for _, s := range []string{"", "ALL_WAIT_PAY", "trade_finished"} {
		if _, err := mapping.TaobaoOrderStatus(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func sampleTrade() top.Trade {
	return top.Trade{
		Tid: 4000000000000001, TidStr: "4000000000000001", Status: top.TradeWaitSellerSendGoods,
		Created: "2025-06-01 10:00:00", Modified: "2025-06-01 10:05:00", PayTime: "2025-06-01 10:01:00",
		Payment: "200.07", TotalFee: "199.97", PostFee: "10.10", DiscountFee: "10.00",
		BuyerOpenUID: "AAHbuyer", ReceiverState: "浙江", ReceiverCity: "杭州",
		Orders: []top.Order{
			{Oid: 1, NumIid: 6001, OuterSkuID: "SKU-1", Title: "精华", Num: 3, Price: "0.10", Payment: "0.29", RefundStatus: top.RefundNone},
			{Oid: 2, NumIid: 6002, SkuID: "77", Title: "面膜", Num: 1, Price: "199.67", Payment: "199.78", RefundStatus: top.RefundNone},
		},
	}
}

// TestMapTradeMoneyExact checks yuan strings become fen exactly (values
// that floats get wrong: 0.1+0.2, 200.07).
func TestMapTradeMoneyExact(t *testing.T) {
	tr := sampleTrade()
	m, err := mapTrade(&tr, "2200000000001", "12345678")
	if err != nil {
		t.Fatal(err)
	}
	if m.TotalFen != 19997+1010 || m.PaidFen != 20007 || m.ShippingFen != 1010 || m.DiscountFen != 1000 {
		t.Fatalf("money %+v", m)
	}
	if m.Items[0].UnitPriceFen != 10 || m.Items[1].UnitPriceFen != 19967 || m.Items[0].SKU != "SKU-1" || m.Items[1].SKU != "77" {
		t.Fatalf("items %+v", m.Items)
	}
	if m.Status != mapping.OrderPaid || m.PlatformStatus != top.TradeWaitSellerSendGoods || m.Region != "浙江 杭州" {
		t.Fatalf("%+v", m)
	}
	if !m.CreatedAt.Equal(time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)) || m.CreatedAt.Location() != time.UTC {
		t.Fatalf("created %v", m.CreatedAt)
	}
	if len(m.Buyer) != 1 || m.Buyer[0] != (mapping.Identity{Type: mapping.IDTaobaoBuyerOpenUID, Scope: "12345678", Value: "AAHbuyer"}) {
		t.Fatalf("buyer %+v", m.Buyer)
	}
	for _, bad := range []string{"200.071", "1e2", "abc", "-1.00", "0.1.2"} {
		b := sampleTrade()
		b.Payment = bad
		if _, err := mapTrade(&b, "s", "a"); err == nil {
			t.Errorf("payment %q accepted", bad)
		}
	}
}

func TestMapTradeRefunds(t *testing.T) {
	tr := sampleTrade()
	tr.Orders[0].RefundStatus = top.RefundWaitSellerAgree
	m, _ := mapTrade(&tr, "s", "a")
	if m.Status != mapping.OrderRefunding {
		t.Fatalf("pending refund: %v", m.Status)
	}
	tr.Orders[0].RefundStatus = top.RefundSuccess
	m, _ = mapTrade(&tr, "s", "a")
	if m.Status != mapping.OrderPaid || m.RefundFen != 29 {
		t.Fatalf("partial refund: %v %d", m.Status, m.RefundFen)
	}
	tr.Orders[1].RefundStatus = top.RefundSuccess
	tr.Status = top.TradeClosed
	m, _ = mapTrade(&tr, "s", "a")
	if m.Status != mapping.OrderRefunded || m.RefundFen != 29+19978 {
		t.Fatalf("full refund: %v %d", m.Status, m.RefundFen)
	}
	unpaid := sampleTrade()
	unpaid.Status, unpaid.PayTime = top.TradeClosedByTaobao, ""
	m, _ = mapTrade(&unpaid, "s", "a")
	if m.Status != mapping.OrderCancelled || m.PaidFen != 0 {
		t.Fatalf("cancelled: %+v", m)
	}
	if region("上海", "上海") != "上海" || region("浙*", "杭州") != "杭州" {
		t.Fatal("region")
	}
}
