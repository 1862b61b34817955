package xiaohongshu

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// orderRecord maps an order detail to a canonical order record of shop
// sellerID, or to a bad record when its status is not one the mapping table
// knows.
//
// Amounts come in fen and stay in fen: PaidFen is totalPayAmount (what the
// buyer paid, shipping and deposit included), DiscountFen the merchant's and
// the platform's (红包) discounts, ShippingFen totalShippingFree, and TotalFen
// paid plus discounts — the order's value before discounts. RefundFen stays
// 0: refunded amounts come from the after-sale API, which this connector
// does not read.
func orderRecord(sellerID string, d *ark.OrderDetail) sdk.Record {
	rec := sdk.Record{Stream: StreamOrders, ID: d.OrderID, UpdatedAt: d.UpdateTime.Time()}
	status, err := mapping.XiaohongshuOrderStatus(d.OrderStatus)
	if err != nil {
		raw, _ := json.Marshal(d)
		rec.Bad = &sdk.BadRecord{Reason: err.Error(), Raw: raw, Location: ark.MethodGetOrderDetail + " " + d.OrderID}
		return rec
	}
	discount := d.TotalMerchantDiscount + d.TotalRedDiscount
	o := &mapping.Order{
		Platform:       Platform,
		Shop:           sellerID,
		OrderID:        d.OrderID,
		Status:         status,
		PlatformStatus: strconv.Itoa(d.OrderStatus),
		TotalFen:       d.TotalPayAmount + discount,
		PaidFen:        d.TotalPayAmount,
		DiscountFen:    discount,
		ShippingFen:    d.TotalShippingFree,
		CreatedAt:      d.CreatedTime.Time(),
		PaidAt:         d.PaidTime.Time(),
		UpdatedAt:      d.UpdateTime.Time(),
		Region:         region(d.ReceiverProvinceName, d.ReceiverCityName),
	}
	for _, s := range d.SkuList {
		o.Items = append(o.Items, mapping.OrderItem{
			SKU: s.SkuID, ProductID: s.ItemID, Title: s.SkuName,
			Quantity: s.SkuQuantity, UnitPriceFen: unitPrice(s),
		})
	}
	if d.UserID != "" {
		o.Buyer = []mapping.Identity{{Type: mapping.IDXHSOpenID, Scope: sellerID, Value: d.UserID}}
	}
	rec.Order = o
	return rec
}

// unitPrice is a line's list price per unit: from the per-unit prices of its
// products (one, or the parts of a bundle), else the line's amount before
// discounts over its quantity.
func unitPrice(s ark.OrderSku) mapping.Fen {
	if s.SkuQuantity <= 0 {
		return 0
	}
	var sum mapping.Fen
	for _, p := range s.SkuDetailList {
		sum += p.PricePerSku * mapping.Fen(p.Quantity)
	}
	if sum == 0 {
		sum = s.TotalPaidAmount + s.TotalMerchantDiscount + s.TotalRedDiscount
	}
	return sum / mapping.Fen(s.SkuQuantity)
}

// region is "province city", or one name when they are the same
// (municipalities) or one is missing. Nothing finer is kept.
func region(province, city string) string {
	province, city = strings.TrimSpace(province), strings.TrimSpace(city)
	switch {
	case province == "" || province == city:
		return city
	case city == "":
		return province
	}
	return province + " " + city
}
