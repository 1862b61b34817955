package taobao

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/mapping"
)

// PlatformName is the Order.Platform of every order this connector emits.
const PlatformName = "taobao"

// refundPending says a sub-order's refund is under way.
func refundPending(s string) bool {
	switch s {
	case top.RefundWaitSellerAgree, top.RefundWaitBuyerReturn, top.RefundWaitSellerConfirm:
		return true
	}
	return false
}

// yuan converts a yuan string to fen exactly; empty is 0.
func yuan(field, s string) (mapping.Fen, error) {
	if s == "" {
		return 0, nil
	}
	f, err := mapping.ParseYuan(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	if f < 0 {
		return 0, fmt.Errorf("%s: negative amount %s", field, s)
	}
	return f, nil
}

func platformTime(field, s string) (time.Time, error) {
	t, err := top.ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", field, err)
	}
	return t, nil
}

// mapTrade maps a trade to the canonical order. shop is the Order.Shop,
// appKey the scope of the buyer's taobao_buyer_open_uid.
//
// Status is TaobaoOrderStatus, then the sub-orders' refunds: a refund under
// way on any sub-order → refunding (unless the trade is closed); every
// sub-order refunded → refunded. RefundFen is the payment of the refunded
// sub-orders. Money: TotalFen = total_fee + post_fee, PaidFen = payment once
// paid (pay_time set), DiscountFen = discount_fee, ShippingFen = post_fee —
// all parsed from yuan strings exactly.
func mapTrade(t *top.Trade, shop, appKey string) (*mapping.Order, error) {
	id := t.ID()
	if id == "" {
		return nil, errors.New("trade without tid")
	}
	status, err := mapping.TaobaoOrderStatus(t.Status)
	if err != nil {
		return nil, err
	}
	m := &mapping.Order{Platform: PlatformName, Shop: shop, OrderID: id, Status: status, PlatformStatus: t.Status}
	if m.CreatedAt, err = platformTime("created", t.Created); err != nil {
		return nil, err
	}
	if m.UpdatedAt, err = platformTime("modified", t.Modified); err != nil {
		return nil, err
	}
	if m.PaidAt, err = platformTime("pay_time", t.PayTime); err != nil {
		return nil, err
	}
	if m.CreatedAt.IsZero() || m.UpdatedAt.IsZero() {
		return nil, fmt.Errorf("trade %s: created or modified missing", id)
	}
	total, err := yuan("total_fee", t.TotalFee)
	if err != nil {
		return nil, err
	}
	if m.ShippingFen, err = yuan("post_fee", t.PostFee); err != nil {
		return nil, err
	}
	if m.DiscountFen, err = yuan("discount_fee", t.DiscountFee); err != nil {
		return nil, err
	}
	payment, err := yuan("payment", t.Payment)
	if err != nil {
		return nil, err
	}
	m.TotalFen = total + m.ShippingFen
	if !m.PaidAt.IsZero() {
		m.PaidFen = payment
	}
	refunded, pending := 0, 0
	for _, o := range t.Orders {
		price, err := yuan("orders.price", o.Price)
		if err != nil {
			return nil, err
		}
		sku := o.OuterSkuID
		if sku == "" {
			sku = o.SkuID
		}
		pid := ""
		if o.NumIid != 0 {
			pid = fmt.Sprint(o.NumIid)
		}
		m.Items = append(m.Items, mapping.OrderItem{SKU: sku, ProductID: pid, Title: o.Title, Quantity: o.Num, UnitPriceFen: price})
		switch {
		case o.RefundStatus == top.RefundSuccess:
			refunded++
			pay, err := yuan("orders.payment", o.Payment)
			if err != nil {
				return nil, err
			}
			m.RefundFen += pay
		case refundPending(o.RefundStatus):
			pending++
		}
	}
	switch n := len(t.Orders); {
	case n > 0 && refunded == n && !m.PaidAt.IsZero():
		m.Status = mapping.OrderRefunded
	case pending > 0 && status != mapping.OrderCancelled && status != mapping.OrderRefunded:
		m.Status = mapping.OrderRefunding
	}
	if t.BuyerOpenUID != "" {
		m.Buyer = append(m.Buyer, mapping.Identity{Type: mapping.IDTaobaoBuyerOpenUID, Scope: appKey, Value: t.BuyerOpenUID})
	}
	m.Region = region(t.ReceiverState, t.ReceiverCity)
	return m, nil
}

// region is "province city" ("浙江 杭州"; one name when equal, as 上海).
// Masked or encrypted values (with * or ~) are left out.
func region(state, city string) string {
	var parts []string
	for _, p := range []string{state, city} {
		if p == "" || strings.ContainsAny(p, "*~#$") || (len(parts) == 1 && parts[0] == p) {
			continue
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}
