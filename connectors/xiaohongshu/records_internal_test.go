package xiaohongshu

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

func TestOrderRecordStatuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code int
		want mapping.OrderStatus
	}{
		{ark.StatusPendingPayment, mapping.OrderPendingPayment},
		{ark.StatusPaidProcessing, mapping.OrderPaid},
		{ark.StatusCustomsClearance, mapping.OrderPaid},
		{ark.StatusAwaitingShipment, mapping.OrderPaid},
		{ark.StatusPartlyShipped, mapping.OrderShipped},
		{ark.StatusAwaitingReceipt, mapping.OrderShipped},
		{ark.StatusCompleted, mapping.OrderCompleted},
		{ark.StatusClosed, mapping.OrderRefunded},
		{ark.StatusCancelled, mapping.OrderCancelled},
		{ark.StatusExchangeRequested, mapping.OrderRefunding},
		{0, mapping.OrderUnknown},
		{11, mapping.OrderUnknown},
	} {
		d := &ark.OrderDetail{OrderSummary: ark.OrderSummary{OrderID: "P1", OrderStatus: tc.code, UpdateTime: 1}}
		rec := orderRecord("shop", d)
		if rec.ID != "P1" || rec.Stream != StreamOrders {
			t.Fatalf("status %d: record %+v", tc.code, rec)
		}
		if tc.want == mapping.OrderUnknown {
			if rec.Bad == nil || rec.Order != nil || len(rec.Bad.Raw) == 0 {
				t.Errorf("status %d: %+v, want a bad record with the raw order", tc.code, rec)
			}
			continue
		}
		if rec.Bad != nil || rec.Order.Status != tc.want || rec.Order.PlatformStatus == "" {
			t.Errorf("status %d: %+v, want %s", tc.code, rec.Order, tc.want)
		}
	}
}

func TestOrderRecordMoney(t *testing.T) {
	t.Parallel()
	created := time.Date(2025, 5, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	d := &ark.OrderDetail{
		OrderSummary: ark.OrderSummary{
			OrderID: "P7", OrderStatus: ark.StatusCompleted,
			CreatedTime: ark.MillisOf(created), PaidTime: ark.MillisOf(created.Add(time.Minute)), UpdateTime: ark.MillisOf(created.Add(time.Hour)),
			ReceiverProvinceName: "浙江", ReceiverCityName: "杭州",
		},
		UserID: "u-1",
		SkuList: []ark.OrderSku{
			// 2 × 199.00, 10% merchant discount, 5.00 red packet: paid 353.20.
			{SkuID: "s1", ItemID: "i1", SkuName: "精华", SkuQuantity: 2, TotalPaidAmount: 35320, TotalMerchantDiscount: 3980, TotalRedDiscount: 500,
				SkuDetailList: []ark.OrderSkuDetail{{SkuID: "s1", Quantity: 2, PricePerSku: 19900}}},
			// A bundle of two products, 1 unit, no per-unit prices: from the amounts.
			{SkuID: "s2", SkuName: "套装", SkuQuantity: 1, TotalPaidAmount: 5990},
			// A free gift.
			{SkuID: "s3", SkuName: "小样", SkuQuantity: 3, SkuTag: 1},
		},
		TotalPayAmount: 35320 + 5990 + 1000, TotalShippingFree: 1000,
		TotalMerchantDiscount: 3980, TotalRedDiscount: 500,
	}
	rec := orderRecord("shop-9", d)
	o := rec.Order
	if rec.Bad != nil || o == nil {
		t.Fatalf("record %+v", rec)
	}
	want := mapping.Order{
		Platform: "xiaohongshu", Shop: "shop-9", OrderID: "P7", Status: mapping.OrderCompleted, PlatformStatus: "7",
		PaidFen: 42310, DiscountFen: 4480, ShippingFen: 1000, TotalFen: 46790, RefundFen: 0,
		Region: "浙江 杭州",
	}
	if o.Platform != want.Platform || o.Shop != want.Shop || o.OrderID != want.OrderID || o.Status != want.Status || o.PlatformStatus != want.PlatformStatus ||
		o.PaidFen != want.PaidFen || o.DiscountFen != want.DiscountFen || o.ShippingFen != want.ShippingFen || o.TotalFen != want.TotalFen || o.RefundFen != 0 || o.Region != want.Region {
		t.Fatalf("order\n got %+v\nwant %+v", *o, want)
	}
	// Lines at list price plus shipping make the total.
	var lines mapping.Fen
	for _, it := range o.Items {
		lines += it.UnitPriceFen * mapping.Fen(it.Quantity)
	}
	if lines+o.ShippingFen != o.TotalFen {
		t.Fatalf("lines %d + shipping %d != total %d", lines, o.ShippingFen, o.TotalFen)
	}
	items := []mapping.OrderItem{
		{SKU: "s1", ProductID: "i1", Title: "精华", Quantity: 2, UnitPriceFen: 19900},
		{SKU: "s2", Title: "套装", Quantity: 1, UnitPriceFen: 5990},
		{SKU: "s3", Title: "小样", Quantity: 3, UnitPriceFen: 0},
	}
	for i := range items {
		if o.Items[i] != items[i] {
			t.Errorf("item %d: %+v, want %+v", i, o.Items[i], items[i])
		}
	}
	if !o.CreatedAt.Equal(created) || o.CreatedAt.Location() != time.UTC || !o.PaidAt.Equal(created.Add(time.Minute)) || !rec.UpdatedAt.Equal(created.Add(time.Hour)) {
		t.Fatalf("times %v %v %v", o.CreatedAt, o.PaidAt, rec.UpdatedAt)
	}
	if len(o.Buyer) != 1 || o.Buyer[0] != (mapping.Identity{Type: mapping.IDXHSOpenID, Scope: "shop-9", Value: "u-1"}) {
		t.Fatalf("buyer %v", o.Buyer)
	}
}

func TestRegion(t *testing.T) {
	t.Parallel()
	for _, tc := range [][3]string{
		{"浙江", "杭州", "浙江 杭州"},
		{"上海", "上海", "上海"},
		{"", "北京", "北京"},
		{"广东", "", "广东"},
		{"", "", ""},
	} {
		if got := region(tc[0], tc[1]); got != tc[2] {
			t.Errorf("region(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	classed := sdk.ThrottledError(time.Minute, "x", "already classed")
	for _, tc := range []struct {
		name string
		err  error
		want sdk.Class
		wait bool
	}{
		{"throttled", &ark.APIError{Code: ark.CodeThrottled}, sdk.ClassThrottled, true},
		{"decrypt quota", &ark.APIError{Code: ark.CodeDecryptQuota}, sdk.ClassThrottled, true},
		{"http 429", &ark.HTTPError{StatusCode: http.StatusTooManyRequests}, sdk.ClassThrottled, true},
		{"token expired", &ark.APIError{Code: ark.CodeAccessTokenInvalid}, sdk.ClassAuth, false},
		{"no permission", &ark.APIError{Code: ark.CodeNoPermission}, sdk.ClassAuth, false},
		{"grant invalid", &ark.APIError{Code: ark.CodeGrantInvalid}, sdk.ClassAuth, false},
		{"server error", &ark.APIError{Code: ark.CodeServerError}, sdk.ClassUnavailable, false},
		{"system error", &ark.APIError{Code: ark.CodeSystemError}, sdk.ClassUnavailable, false},
		{"no code", &ark.APIError{}, sdk.ClassUnavailable, false},
		{"bad params", &ark.APIError{Code: ark.CodeBadParams}, sdk.ClassPermanent, false},
		{"not found", &ark.APIError{Code: ark.CodeOrderNotFound}, sdk.ClassPermanent, false},
		{"http 502", &ark.HTTPError{StatusCode: http.StatusBadGateway}, sdk.ClassUnavailable, false},
		{"malformed", &ark.HTTPError{StatusCode: 200, Err: ark.ErrMalformedResponse}, sdk.ClassUnavailable, false},
		{"http 404", &ark.HTTPError{StatusCode: http.StatusNotFound}, sdk.ClassPermanent, false},
		{"network", &url.Error{Op: "Post", URL: "https://ark.xiaohongshu.com", Err: errors.New("connection refused")}, sdk.ClassUnavailable, false},
		{"invalid request", ark.ErrInvalidRequest, sdk.ClassPermanent, false},
		{"classed", classed, sdk.ClassThrottled, true},
	} {
		err := classify(ctx, "api", tc.err)
		if got := sdk.ClassOf(err); got != tc.want {
			t.Errorf("%s: class %s, want %s (%v)", tc.name, got, tc.want, err)
		}
		if (sdk.RetryAfter(err) > 0) != tc.wait {
			t.Errorf("%s: retry after %s", tc.name, sdk.RetryAfter(err))
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: %v does not wrap the cause", tc.name, err)
		}
	}
	if classify(ctx, "api", nil) != nil {
		t.Error("nil classified as an error")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := classify(cctx, "api", &url.Error{Op: "Post", URL: "u", Err: context.Canceled}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if !notFound(classify(ctx, "api", &ark.APIError{Code: ark.CodeOrderNotFound})) {
		t.Error("a classified not-found error is not recognised")
	}
}
