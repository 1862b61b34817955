package ark

import (
	"context"
	"fmt"
	"time"

	"github.com/channelhub/channelhub/mapping"
)

// Order methods (fact sheet §3.5).
const (
	MethodGetOrderList   = "order.getOrderList"
	MethodGetOrderDetail = "order.getOrderDetail"
)

// Order status codes (orderStatus). StatusAll is a filter value only.
// mapping.XiaohongshuOrderStatus maps them to canonical statuses.
const (
	StatusAll               = 0  // filter: every status
	StatusPendingPayment    = 1  // 已下单待付款
	StatusPaidProcessing    = 2  // 已支付处理中 (risk check after payment)
	StatusCustomsClearance  = 3  // 清关中 (cross-border)
	StatusAwaitingShipment  = 4  // 待发货
	StatusPartlyShipped     = 5  // 部分发货
	StatusAwaitingReceipt   = 6  // 待收货
	StatusCompleted         = 7  // 已完成
	StatusClosed            = 8  // 已关闭 (e.g. after a completed refund)
	StatusCancelled         = 9  // 已取消
	StatusExchangeRequested = 10 // 换货申请中
)

// Order types (orderType). OrderTypeAll is a filter value only.
const (
	OrderTypeAll             = 0
	OrderTypeNormal          = 1 // 现货
	OrderTypeDeposit         = 2 // 定金预售
	OrderTypeFullPresaleOld  = 3 // 全款预售 (retired)
	OrderTypeFullPresale     = 4 // 全款预售 (new)
	OrderTypeExchangeReissue = 5 // 换货补发
)

// After-sales status codes (orderAfterSalesStatus, skuAfterSaleStatus).
const (
	AfterSaleNone        = 1 // 无售后
	AfterSaleInProgress  = 2 // 售后处理中
	AfterSaleDone        = 3 // 售后完成
	AfterSaleRefused     = 4 // 售后拒绝
	AfterSaleClosed      = 5 // 售后关闭
	AfterSaleIntervening = 6 // 平台介入中
	AfterSaleCancelled   = 7 // 售后取消
)

// Paging limits of order.getOrderList.
const (
	MaxPageNo       = 100
	MaxPageSize     = 100
	DefaultPageSize = 50
	// MaxRowsPerWindow is the deepest a window can be paged: a window whose
	// total is larger must be split.
	MaxRowsPerWindow = MaxPageNo * MaxPageSize
)

// TimeType says which order time startTime/endTime filter on.
type TimeType int

// Time types.
const (
	// TimeCreated filters on creation time; windows up to 24 h. For
	// backfills.
	TimeCreated TimeType = 1
	// TimeUpdated filters on update time; windows up to 30 min. For
	// increments; page from the last page back to the first.
	TimeUpdated TimeType = 2
)

// String returns "created" or "updated".
func (t TimeType) String() string {
	switch t {
	case TimeCreated:
		return "created"
	case TimeUpdated:
		return "updated"
	}
	return fmt.Sprintf("TimeType(%d)", int(t))
}

// MaxWindow is the longest endTime-startTime the platform takes for t, or 0
// for an unknown type.
func (t TimeType) MaxWindow() time.Duration {
	switch t {
	case TimeCreated:
		return 24 * time.Hour
	case TimeUpdated:
		return 30 * time.Minute
	}
	return 0
}

// OrderListRequest is one order.getOrderList call. Start and End are sent as
// Unix seconds (sub-second parts are dropped). Whether the gateway counts an
// order stamped in the endTime second as inside is not documented; the
// sandbox does (both ends inclusive), and SplitWindow and ScanOrders are
// right either way.
type OrderListRequest struct {
	Start, End time.Time
	TimeType   TimeType
	// OrderType filters by type (OrderType* constants); 0 means all.
	OrderType int
	// OrderStatus filters by status (Status* constants); 0 means all.
	OrderStatus int
	// PageNo is 1-based, at most MaxPageNo; 0 means 1.
	PageNo int
	// PageSize is at most MaxPageSize; 0 means DefaultPageSize.
	PageSize int
}

// Validate checks r against the platform's rules and returns an error
// wrapping ErrInvalidRequest that names the broken rule.
func (r OrderListRequest) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("xiaohongshu %s: %w: "+format, append([]any{MethodGetOrderList, ErrInvalidRequest}, args...)...)
	}
	maxWin := r.TimeType.MaxWindow()
	switch {
	case maxWin == 0:
		return bad("timeType %d is not 1 (created) or 2 (updated)", int(r.TimeType))
	case r.Start.IsZero() || r.End.IsZero():
		return bad("start and end time are required")
	case r.End.Unix() < r.Start.Unix():
		return bad("end %s is before start %s", r.End.UTC().Format(time.RFC3339), r.Start.UTC().Format(time.RFC3339))
	case r.End.Unix()-r.Start.Unix() > int64(maxWin/time.Second):
		return bad("window of %s is longer than the %s allowed for timeType %d (%s); split it with SplitWindow",
			time.Duration(r.End.Unix()-r.Start.Unix())*time.Second, maxWin, int(r.TimeType), r.TimeType)
	case r.PageNo < 0 || r.PageNo > MaxPageNo:
		return bad("pageNo %d is not within 1..%d", r.PageNo, MaxPageNo)
	case r.PageSize < 0 || r.PageSize > MaxPageSize:
		return bad("pageSize %d is not within 1..%d", r.PageSize, MaxPageSize)
	case r.OrderStatus < StatusAll || r.OrderStatus > StatusExchangeRequested:
		return bad("orderStatus %d is not within 0..10", r.OrderStatus)
	case r.OrderType < OrderTypeAll || r.OrderType > OrderTypeExchangeReissue:
		return bad("orderType %d is not within 0..5", r.OrderType)
	}
	return nil
}

// OrderListParams are order.getOrderList's business parameters on the wire.
type OrderListParams struct {
	StartTime   int64 `json:"startTime"`
	EndTime     int64 `json:"endTime"`
	TimeType    int   `json:"timeType"`
	OrderType   int   `json:"orderType,omitempty"`
	OrderStatus int   `json:"orderStatus,omitempty"`
	PageNo      int   `json:"pageNo,omitempty"`
	PageSize    int   `json:"pageSize,omitempty"`
}

// Params returns r as sent.
func (r OrderListRequest) Params() OrderListParams {
	return OrderListParams{
		StartTime: r.Start.Unix(), EndTime: r.End.Unix(), TimeType: int(r.TimeType),
		OrderType: r.OrderType, OrderStatus: r.OrderStatus, PageNo: r.PageNo, PageSize: r.PageSize,
	}
}

// OrderList is the data of order.getOrderList.
type OrderList struct {
	// Total is how many orders match, even beyond MaxRowsPerWindow.
	Total    int `json:"total"`
	PageNo   int `json:"pageNo"`
	PageSize int `json:"pageSize"`
	// MaxPageNo is the last page that has rows (at most MaxPageNo), for
	// paging from the last page back.
	MaxPageNo int            `json:"maxPageNo"`
	Orders    []OrderSummary `json:"orderList"`
}

// Truncated reports whether the window holds more orders than paging can
// reach, so it must be split.
func (l *OrderList) Truncated() bool {
	size := l.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	return l.Total > size*MaxPageNo
}

// OrderSummary is one order of order.getOrderList; OrderDetail starts with
// the same fields. Times are epoch milliseconds.
type OrderSummary struct {
	OrderID               string `json:"orderId"`
	OrderType             int    `json:"orderType"`
	OrderStatus           int    `json:"orderStatus"`
	OrderAfterSalesStatus int    `json:"orderAfterSalesStatus"`
	// CancelStatus is 1 while a cancellation is being processed, else 0.
	CancelStatus            int      `json:"cancelStatus"`
	CreatedTime             Millis   `json:"createdTime"`
	PaidTime                Millis   `json:"paidTime,omitempty"`
	UpdateTime              Millis   `json:"updateTime"`
	DeliveryTime            Millis   `json:"deliveryTime,omitempty"`
	CancelTime              Millis   `json:"cancelTime,omitempty"`
	FinishTime              Millis   `json:"finishTime,omitempty"`
	PromiseLastDeliveryTime Millis   `json:"promiseLastDeliveryTime,omitempty"`
	PlanInfoID              string   `json:"planInfoId,omitempty"`
	PlanInfoName            string   `json:"planInfoName,omitempty"`
	ReceiverCountryID       string   `json:"receiverCountryId,omitempty"`
	ReceiverCountryName     string   `json:"receiverCountryName,omitempty"`
	ReceiverProvinceID      string   `json:"receiverProvinceId,omitempty"`
	ReceiverProvinceName    string   `json:"receiverProvinceName,omitempty"`
	ReceiverCityID          string   `json:"receiverCityId,omitempty"`
	ReceiverCityName        string   `json:"receiverCityName,omitempty"`
	ReceiverDistrictID      string   `json:"receiverDistrictId,omitempty"`
	ReceiverDistrictName    string   `json:"receiverDistrictName,omitempty"`
	CustomerRemark          string   `json:"customerRemark,omitempty"`
	SellerRemark            string   `json:"sellerRemark,omitempty"`
	SellerRemarkFlag        int      `json:"sellerRemarkFlag,omitempty"`
	OriginalOrderID         string   `json:"originalOrderId,omitempty"`
	Logistics               string   `json:"logistics,omitempty"`
	OrderTagList            []string `json:"orderTagList,omitempty"`
}

// TimeOf returns the order's time that t filters on.
func (o *OrderSummary) TimeOf(t TimeType) Millis {
	if t == TimeUpdated {
		return o.UpdateTime
	}
	return o.CreatedTime
}

// OrderDetail is the data of order.getOrderDetail. Amounts are integer fen,
// as sent. Receiver name, phone and address are not returned (see
// order.getOrderReceiverInfo, not covered here).
type OrderDetail struct {
	OrderSummary
	PresaleDeliveryStartTime Millis `json:"presaleDeliveryStartTime,omitempty"`
	PresaleDeliveryEndTime   Millis `json:"presaleDeliveryEndTime,omitempty"`
	// SkuList has one line per sku, same skus merged, amounts summed.
	SkuList []OrderSku `json:"skuList"`
	// TotalPayAmount is what the buyer paid, shipping and deposit included.
	TotalPayAmount mapping.Fen `json:"totalPayAmount"`
	// TotalShippingFree is the shipping fee paid (the platform's spelling).
	TotalShippingFree     mapping.Fen `json:"totalShippingFree"`
	TotalDepositAmount    mapping.Fen `json:"totalDepositAmount"`
	TotalMerchantDiscount mapping.Fen `json:"totalMerchantDiscount"`
	TotalRedDiscount      mapping.Fen `json:"totalRedDiscount"`
	// MerchantActualReceiveAmount = paid + deposit + platform discount.
	MerchantActualReceiveAmount mapping.Fen `json:"merchantActualReceiveAmount"`
	TotalChangePriceAmount      mapping.Fen `json:"totalChangePriceAmount"`
	// TotalNetWeightAmount is in grams.
	TotalNetWeightAmount int64  `json:"totalNetWeightAmount,omitempty"`
	Unpack               bool   `json:"unpack"`
	ExpressTrackingNo    string `json:"expressTrackingNo,omitempty"`
	ExpressCompanyCode   string `json:"expressCompanyCode,omitempty"`
	// OpenAddressID is derived from the receiver's name, phone and address:
	// stable per receiver, used to fetch receiver info.
	OpenAddressID string `json:"openAddressId,omitempty"`
	// PaymentType: 1 Alipay, 2 WeChat, 3 Apple IAP, 4 Apple Pay, 5 Huabei
	// instalments, 7 Alipay password-free, 8 UnionPay QuickPass, -1 other.
	PaymentType int    `json:"paymentType,omitempty"`
	ShopID      string `json:"shopId"`
	ShopName    string `json:"shopName,omitempty"`
	// UserID is the buyer's id; the fact sheet could not confirm its scope
	// (per app or global, §3.6), so it is stored as shop-scoped.
	UserID string `json:"userId,omitempty"`
}

// OrderSku is one line of OrderDetail.SkuList.
type OrderSku struct {
	SkuID       string `json:"skuId"`
	SkuName     string `json:"skuName"`
	Erpcode     string `json:"erpcode,omitempty"`
	SkuSpec     string `json:"skuSpec,omitempty"`
	SkuImage    string `json:"skuImage,omitempty"`
	SkuQuantity int64  `json:"skuQuantity"`
	ItemID      string `json:"itemId,omitempty"`
	ItemName    string `json:"itemName,omitempty"`
	// TotalPaidAmount is what was paid for the line (all units).
	TotalPaidAmount       mapping.Fen `json:"totalPaidAmount"`
	TotalMerchantDiscount mapping.Fen `json:"totalMerchantDiscount"`
	TotalRedDiscount      mapping.Fen `json:"totalRedDiscount"`
	TotalTaxAmount        mapping.Fen `json:"totalTaxAmount"`
	// SkuTag is 1 for a free gift, else 0.
	SkuTag             int              `json:"skuTag"`
	SkuAfterSaleStatus int              `json:"skuAfterSaleStatus,omitempty"`
	SkuDetailList      []OrderSkuDetail `json:"skuDetailList,omitempty"`
}

// OrderSkuDetail is a single product inside an OrderSku (itself, or the
// parts of a bundle). Amounts are per unit.
type OrderSkuDetail struct {
	SkuID                  string      `json:"skuId"`
	ErpCode                string      `json:"erpCode,omitempty"`
	Barcode                string      `json:"barcode,omitempty"`
	SkuName                string      `json:"skuName,omitempty"`
	Quantity               int64       `json:"quantity"`
	PricePerSku            mapping.Fen `json:"pricePerSku"`
	TaxPerSku              mapping.Fen `json:"taxPerSku"`
	PaidAmountPerSku       mapping.Fen `json:"paidAmountPerSku"`
	DepositAmountPerSku    mapping.Fen `json:"depositAmountPerSku"`
	MerchantDiscountPerSku mapping.Fen `json:"merchantDiscountPerSku"`
	RedDiscountPerSku      mapping.Fen `json:"redDiscountPerSku"`
	// RawPricePerSku is the list price set when the product was published.
	RawPricePerSku mapping.Fen `json:"rawPricePerSku"`
}

// GetOrderList calls order.getOrderList after checking req (Validate).
func (c *Client) GetOrderList(ctx context.Context, accessToken string, req OrderListRequest) (*OrderList, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out OrderList
	if err := c.Call(ctx, MethodGetOrderList, accessToken, req.Params(), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetOrderDetail calls order.getOrderDetail for one order.
func (c *Client) GetOrderDetail(ctx context.Context, accessToken, orderID string) (*OrderDetail, error) {
	if orderID == "" {
		return nil, fmt.Errorf("xiaohongshu %s: %w: empty orderId", MethodGetOrderDetail, ErrInvalidRequest)
	}
	var out OrderDetail
	if err := c.Call(ctx, MethodGetOrderDetail, accessToken, struct {
		OrderID string `json:"orderId"`
	}{orderID}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
