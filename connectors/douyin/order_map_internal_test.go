package douyin

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/mapping"
)

func shopOrder(status int, refunds ...int) *doudian.ShopOrder {
	o := &doudian.ShopOrder{
		OrderID: "6900100000000000001", ShopID: 10000001, DoudianOpenID: "open-1", OrderStatus: status,
		CreateTime: 1748743200, UpdateTime: 1748746800,
		OrderAmount: 27700, PayAmount: 25200, PostAmount: 800, PromotionAmount: 2500,
		PostAddr: &doudian.Address{Province: &doudian.Region{Name: "浙江"}, City: &doudian.Region{Name: "杭州"}, Detail: "#cipher#"},
	}
	if status != doudian.OrderStatusCreated && status != doudian.OrderStatusCancelled {
		o.PayTime = 1748743260
	}
	for i, r := range refunds {
		s := doudian.SkuOrder{OrderID: o.OrderID[:18] + string(rune('1'+i)), ProductIDStr: "3500000000000000001", ProductName: "精华液", SkuID: 1700000000011, OutSkuID: "SKU-1",
			ItemNum: 2, OriginAmount: 13450, PayAmount: 12600}
		if r != 0 {
			s.AfterSaleInfo = &doudian.AfterSaleInfo{RefundStatus: r}
		}
		o.SkuOrderList = append(o.SkuOrderList, s)
	}
	return o
}

func TestMapOrderStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		o       *doudian.ShopOrder
		want    mapping.OrderStatus
		refund  mapping.Fen
		wantErr string
	}{
		{"1 awaiting payment", shopOrder(1, 0), mapping.OrderPendingPayment, 0, ""},
		{"105 paid", shopOrder(105, 0), mapping.OrderPaid, 0, ""},
		{"2 being prepared", shopOrder(2, 0), mapping.OrderPaid, 0, ""},
		{"101 partly shipped", shopOrder(101, 0, 0), mapping.OrderShipped, 0, ""},
		{"3 shipped", shopOrder(3, 0), mapping.OrderShipped, 0, ""},
		{"4 cancelled", shopOrder(4, 0), mapping.OrderCancelled, 0, ""},
		{"5 completed", shopOrder(5, 0), mapping.OrderCompleted, 0, ""},
		{"every child refunded", shopOrder(5, 3, 3), mapping.OrderRefunded, 25200, ""},
		{"one of two refunded keeps the status", shopOrder(5, 3, 0), mapping.OrderCompleted, 12600, ""},
		{"refund pending", shopOrder(3, 1, 0), mapping.OrderRefunding, 0, ""},
		{"refused refund changes nothing", shopOrder(5, 4), mapping.OrderCompleted, 0, ""},
		{"unknown status", shopOrder(99, 0), mapping.OrderUnknown, 0, "order_status 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := mapOrder(tt.o, "10000001", "brand-a", "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != tt.want || m.RefundFen != tt.refund {
				t.Fatalf("status %s refund %d, want %s %d", m.Status, m.RefundFen, tt.want, tt.refund)
			}
		})
	}
}

func TestMapOrderMoneyAndFields(t *testing.T) {
	t.Parallel()
	o := shopOrder(doudian.OrderStatusCompleted, 0)
	m, err := mapOrder(o, "ignored", "brand-a", "union-1")
	if err != nil {
		t.Fatal(err)
	}
	want := mapping.Order{
		Platform: "douyin", Shop: "10000001", OrderID: o.OrderID, Status: mapping.OrderCompleted, PlatformStatus: "5",
		TotalFen: 27700, PaidFen: 25200, DiscountFen: 2500, ShippingFen: 800,
		CreatedAt: time.Unix(1748743200, 0).UTC(), PaidAt: time.Unix(1748743260, 0).UTC(), UpdatedAt: time.Unix(1748746800, 0).UTC(),
		Region: "浙江 杭州",
	}
	got := *m
	got.Items, got.Buyer = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mapped\n%+v\nwant\n%+v", got, want)
	}
	if len(m.Items) != 1 || m.Items[0] != (mapping.OrderItem{SKU: "SKU-1", ProductID: "3500000000000000001", Title: "精华液", Quantity: 2, UnitPriceFen: 13450}) {
		t.Fatalf("items %+v", m.Items)
	}
	wantBuyer := []mapping.Identity{{Type: mapping.IDDouyinOpenID, Scope: "10000001", Value: "open-1"}, {Type: mapping.IDDouyinUnionID, Scope: "brand-a", Value: "union-1"}}
	if len(m.Buyer) != 2 || m.Buyer[0] != wantBuyer[0] || m.Buyer[1] != wantBuyer[1] {
		t.Fatalf("buyer %v", m.Buyer)
	}

	unpaid := shopOrder(doudian.OrderStatusCreated, 0)
	m, _ = mapOrder(unpaid, "10000001", "brand-a", "")
	if m.PaidFen != 0 || !m.PaidAt.IsZero() || m.TotalFen != 27700 || len(m.Buyer) != 1 {
		t.Fatalf("unpaid order: paid %d at %v total %d buyer %v", m.PaidFen, m.PaidAt, m.TotalFen, m.Buyer)
	}

	bad := shopOrder(5, 0)
	bad.PayAmount = -1
	if _, err := mapOrder(bad, "s", "b", ""); err == nil {
		t.Fatal("negative amount mapped")
	}
	noTime := shopOrder(5, 0)
	noTime.UpdateTime = 0
	if _, err := mapOrder(noTime, "s", "b", ""); err == nil {
		t.Fatal("order without update_time mapped")
	}
}

func TestRegion(t *testing.T) {
	t.Parallel()
	r := func(p, c string) *doudian.Address {
		return &doudian.Address{Province: &doudian.Region{Name: p}, City: &doudian.Region{Name: c}}
	}
	tests := []struct {
		a    *doudian.Address
		want string
	}{
		{r("浙江", "杭州"), "浙江 杭州"},
		{r("上海", "上海"), "上海"},
		{r("", "深圳"), "深圳"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := region(tt.a); got != tt.want {
			t.Errorf("region = %q, want %q", got, tt.want)
		}
	}
}
