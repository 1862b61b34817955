package douyin

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/mapping"
)

// PlatformName is the Order.Platform of every order this connector emits.
const PlatformName = "douyin"

// After-sale refund_status values of a child order.
const (
	refundPending = 1
	refundDone    = 3 // 4 is a failed or refused refund: nothing moved
)

// mapOrder maps a shop order to the canonical order. shop scopes the buyer's
// douyin_open_id, brand the douyin_union_id (unionID, empty when unknown).
//
// Status is mapping.DouyinOrderStatus of the parent order_status, then the
// after-sale state of the child orders: every child refunded → refunded; a
// refund pending on any child → refunding. A partial refund keeps the order's
// status and shows in RefundFen (the refunded children's pay amounts).
// PaidFen is pay_amount once the order is paid (pay_time set), else 0.
func mapOrder(o *doudian.ShopOrder, shop, brand, unionID string) (*mapping.Order, error) {
	if o.OrderID == "" {
		return nil, errors.New("order without order_id")
	}
	status, err := mapping.DouyinOrderStatus(o.OrderStatus)
	if err != nil {
		return nil, err
	}
	if o.CreateTime <= 0 || o.UpdateTime <= 0 {
		return nil, fmt.Errorf("order %s: create_time %d / update_time %d missing", o.OrderID, o.CreateTime, o.UpdateTime)
	}
	if o.OrderAmount < 0 || o.PayAmount < 0 || o.PostAmount < 0 {
		return nil, fmt.Errorf("order %s: negative amount (order %d, pay %d, post %d fen)", o.OrderID, o.OrderAmount, o.PayAmount, o.PostAmount)
	}
	if o.ShopID != 0 {
		shop = strconv.FormatInt(o.ShopID, 10)
	}
	m := &mapping.Order{
		Platform:       PlatformName,
		Shop:           shop,
		OrderID:        o.OrderID,
		Status:         status,
		PlatformStatus: strconv.Itoa(o.OrderStatus),
		TotalFen:       o.OrderAmount,
		DiscountFen:    o.PromotionAmount,
		ShippingFen:    o.PostAmount,
		CreatedAt:      unix(o.CreateTime),
		PaidAt:         unix(o.PayTime),
		UpdatedAt:      unix(o.UpdateTime),
		Region:         region(o.PostAddr),
	}
	if o.PayTime > 0 {
		m.PaidFen = o.PayAmount
	}
	refunded, pending := 0, 0
	for _, s := range o.SkuOrderList {
		sku := s.OutSkuID
		if sku == "" && s.SkuID != 0 {
			sku = strconv.FormatInt(s.SkuID, 10)
		}
		pid := s.ProductIDStr
		if pid == "" && s.ProductID != 0 {
			pid = strconv.FormatInt(s.ProductID, 10)
		}
		m.Items = append(m.Items, mapping.OrderItem{SKU: sku, ProductID: pid, Title: s.ProductName, Quantity: s.ItemNum, UnitPriceFen: s.OriginAmount})
		if s.AfterSaleInfo == nil {
			continue
		}
		switch s.AfterSaleInfo.RefundStatus {
		case refundDone:
			refunded++
			m.RefundFen += s.PayAmount
		case refundPending:
			pending++
		}
	}
	switch n := len(o.SkuOrderList); {
	case n > 0 && refunded == n:
		m.Status = mapping.OrderRefunded
	case pending > 0:
		m.Status = mapping.OrderRefunding
	}
	if o.DoudianOpenID != "" {
		m.Buyer = append(m.Buyer, mapping.Identity{Type: mapping.IDDouyinOpenID, Scope: shop, Value: o.DoudianOpenID})
	}
	if unionID != "" && brand != "" {
		m.Buyer = append(m.Buyer, mapping.Identity{Type: mapping.IDDouyinUnionID, Scope: brand, Value: unionID})
	}
	return m, nil
}

func unix(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// region is the receiver's province and city ("浙江 杭州"; one name when they
// are the same, as for 上海). Street and detail are never kept.
func region(a *doudian.Address) string {
	if a == nil {
		return ""
	}
	var parts []string
	if a.Province != nil && a.Province.Name != "" {
		parts = append(parts, a.Province.Name)
	}
	if a.City != nil && a.City.Name != "" && (len(parts) == 0 || parts[0] != a.City.Name) {
		parts = append(parts, a.City.Name)
	}
	return strings.Join(parts, " ")
}
