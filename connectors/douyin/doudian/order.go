package doudian

import (
	"context"
	"fmt"
	"time"

	"github.com/channelhub/channelhub/mapping"
)

// Order API methods.
const (
	MethodOrderSearchList = "order.searchList"
	MethodOrderDetail     = "order.orderDetail"
)

// order.searchList limits.
const (
	// MaxPageSize is the largest size a page may have.
	MaxPageSize = 100
	// MaxReachableRows is how deep paging reaches in one query: rows past it
	// are refused (SubOrderTooDeep), so a window with a larger total must be
	// split (SplitWindow).
	MaxReachableRows = 50000
	// HistoryLimit is how far back order.searchList looks: a create or update
	// start older than now minus HistoryLimit is refused (SubOrderHistory).
	HistoryLimit = 90 * 24 * time.Hour
)

// Values of order_by.
const (
	OrderByCreateTime = "create_time" // the platform's default
	OrderByUpdateTime = "update_time"
)

// Parent-order order_status values (mapping.DouyinOrderStatus maps them to
// canonical statuses).
const (
	OrderStatusCreated          = 1   // created, awaiting payment
	OrderStatusPaid             = 105 // paid
	OrderStatusAwaitingShipment = 2   // 备货中
	OrderStatusPartlyShipped    = 101
	OrderStatusShipped          = 3
	OrderStatusCancelled        = 4
	OrderStatusCompleted        = 5
)

// Window is a span of update (or create) times, sent as whole Unix seconds.
// Both ends count as inclusive (L: the docs do not say; the sandbox does so,
// and SplitWindow overlaps parts by a second so either reading loses nothing).
type Window struct {
	Start, End time.Time
}

// Unix returns the window's ends in Unix seconds.
func (w Window) Unix() (start, end int64) { return w.Start.Unix(), w.End.Unix() }

// EarliestStart is the oldest window start order.searchList accepts at now:
// now minus HistoryLimit, plus 10 minutes of margin for the clock difference
// the gateway tolerates.
func EarliestStart(now time.Time) time.Time { return now.Add(-HistoryLimit + 10*time.Minute) }

// SplitWindow splits w into consecutive windows small enough that a query
// whose total was total can be read completely (each part is expected to hold
// at most MaxReachableRows rows if updates are spread evenly, with a factor 2
// of headroom). Query each part and split again when its total is still over
// MaxReachableRows. Adjacent parts share their boundary second, so an order
// updated exactly then is read twice: deduplicate by order id. When total is
// within the limit, or w is too short to split further, the result is {w}.
func SplitWindow(w Window, total int64) []Window {
	if total <= MaxReachableRows {
		return []Window{w}
	}
	s, e := w.Unix()
	width := e - s
	parts := 2 * ((total + MaxReachableRows - 1) / MaxReachableRows)
	if parts > width {
		parts = width
	}
	if parts < 2 {
		return []Window{w}
	}
	out := make([]Window, 0, parts)
	for i := range parts {
		a := s + width*i/parts
		b := s + width*(i+1)/parts
		out = append(out, Window{Start: time.Unix(a, 0).UTC(), End: time.Unix(b, 0).UTC()})
	}
	return out
}

// CombineStatus is one element of combine_status. OrderStatus is a
// comma-separated list of order_status codes, e.g. "105,2".
type CombineStatus struct {
	OrderStatus string `json:"order_status,omitempty"`
}

// OrderSearchListRequest is order.searchList's param_json. At least one of
// CreateTimeStart and UpdateTimeStart is required; times are Unix seconds.
type OrderSearchListRequest struct {
	CreateTimeStart int64 `json:"create_time_start,omitempty"`
	CreateTimeEnd   int64 `json:"create_time_end,omitempty"`
	UpdateTimeStart int64 `json:"update_time_start,omitempty"`
	UpdateTimeEnd   int64 `json:"update_time_end,omitempty"`
	// CombineStatus filters by status; the platform takes one element only.
	CombineStatus []CombineStatus `json:"combine_status,omitempty"`
	// OrderBy is OrderByCreateTime (default) or OrderByUpdateTime.
	OrderBy string `json:"order_by,omitempty"`
	// OrderAsc sorts ascending; the default is descending.
	OrderAsc bool `json:"order_asc,omitempty"`
	// Page is 0-based.
	Page int64 `json:"page"`
	// Size is 1 to MaxPageSize.
	Size int64 `json:"size"`
}

// UpdatedIn returns the request for one page of the orders updated in w,
// oldest update first — the order incremental sync wants. size 0 means
// MaxPageSize.
func UpdatedIn(w Window, page, size int) OrderSearchListRequest {
	if size == 0 {
		size = MaxPageSize
	}
	s, e := w.Unix()
	return OrderSearchListRequest{UpdateTimeStart: s, UpdateTimeEnd: e, OrderBy: OrderByUpdateTime, OrderAsc: true, Page: int64(page), Size: int64(size)}
}

// OrderSearchListResult is order.searchList's data.
type OrderSearchListResult struct {
	Page int64 `json:"page"`
	Size int64 `json:"size"`
	// Total is the number of orders matching the query, which may exceed
	// MaxReachableRows; only the first MaxReachableRows can be paged to.
	Total         int64       `json:"total"`
	ShopOrderList []ShopOrder `json:"shop_order_list"`
}

// Truncated reports whether the query matched more rows than paging can
// reach: split the window (SplitWindow) and query the parts instead.
func (r *OrderSearchListResult) Truncated() bool { return r.Total > MaxReachableRows }

// More reports whether another page follows this one within the reachable
// rows.
func (r *OrderSearchListResult) More() bool {
	reach := min(r.Total, MaxReachableRows)
	return r.Size > 0 && (r.Page+1)*r.Size < reach
}

// OrderSearchList calls order.searchList. Size 0 means MaxPageSize; a size
// over MaxPageSize or a negative page is refused before calling.
func (c *Client) OrderSearchList(ctx context.Context, accessToken string, req OrderSearchListRequest) (*OrderSearchListResult, error) {
	if req.Size == 0 {
		req.Size = MaxPageSize
	}
	if req.Size < 0 || req.Size > MaxPageSize || req.Page < 0 {
		return nil, fmt.Errorf("doudian %s: page %d size %d: want page >= 0 and size 1..%d", MethodOrderSearchList, req.Page, req.Size, MaxPageSize)
	}
	var res OrderSearchListResult
	if err := c.Call(ctx, MethodOrderSearchList, accessToken, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// OrderDetail calls order.orderDetail for one shop (parent) order.
func (c *Client) OrderDetail(ctx context.Context, accessToken, shopOrderID string) (*ShopOrder, error) {
	var res struct {
		ShopOrderDetail *ShopOrder `json:"shop_order_detail"`
	}
	if err := c.Call(ctx, MethodOrderDetail, accessToken, map[string]string{"shop_order_id": shopOrderID}, &res); err != nil {
		return nil, err
	}
	if res.ShopOrderDetail == nil {
		return nil, &HTTPError{Method: MethodOrderDetail, StatusCode: 200, Err: fmt.Errorf("%w: no shop_order_detail", ErrMalformedResponse)}
	}
	return res.ShopOrderDetail, nil
}

// ShopOrder is a shop (parent) order as order.searchList and
// order.orderDetail return it — the fields the hub maps. Times are Unix
// seconds (0 when not reached); amounts are fen.
type ShopOrder struct {
	OrderID  string `json:"order_id"`
	ShopID   int64  `json:"shop_id"`
	ShopName string `json:"shop_name"`
	// DoudianOpenID is the buyer token (用户加密串); the sandbox gives the
	// buyer's shop-scoped member open_id here.
	DoudianOpenID string `json:"doudian_open_id"`
	// OpenID is the Douyin mini-program open id, only on mini-program orders.
	OpenID          string `json:"open_id"`
	OrderStatus     int    `json:"order_status"`
	OrderStatusDesc string `json:"order_status_desc"`
	OrderType       int    `json:"order_type"`
	BType           int    `json:"b_type"`
	BTypeDesc       string `json:"b_type_desc"`
	PayType         int    `json:"pay_type"`

	CreateTime      int64 `json:"create_time"`
	UpdateTime      int64 `json:"update_time"`
	PayTime         int64 `json:"pay_time"`
	ShipTime        int64 `json:"ship_time"`
	FinishTime      int64 `json:"finish_time"`
	OrderExpireTime int64 `json:"order_expire_time"`

	CancelReason string `json:"cancel_reason"`
	BuyerWords   string `json:"buyer_words"`
	SellerWords  string `json:"seller_words"`

	// OrderAmount is goods plus postage before discounts; PayAmount what the
	// buyer pays.
	OrderAmount             mapping.Fen `json:"order_amount"`
	PayAmount               mapping.Fen `json:"pay_amount"`
	PostAmount              mapping.Fen `json:"post_amount"`
	ModifyAmount            mapping.Fen `json:"modify_amount"`
	ModifyPostAmount        mapping.Fen `json:"modify_post_amount"`
	PromotionAmount         mapping.Fen `json:"promotion_amount"`
	PromotionShopAmount     mapping.Fen `json:"promotion_shop_amount"`
	PromotionPlatformAmount mapping.Fen `json:"promotion_platform_amount"`
	PromotionTalentAmount   mapping.Fen `json:"promotion_talent_amount"`
	PromotionPayAmount      mapping.Fen `json:"promotion_pay_amount"`
	TaxAmount               mapping.Fen `json:"tax_amount"`

	// Receiver fields are ciphertext (encrypt_*) or masked (mask_*); decrypt
	// only through order.batchDecrypt, never match on masks.
	EncryptPostReceiver string   `json:"encrypt_post_receiver"`
	EncryptPostTel      string   `json:"encrypt_post_tel"`
	MaskPostReceiver    string   `json:"mask_post_receiver"`
	MaskPostTel         string   `json:"mask_post_tel"`
	PostAddr            *Address `json:"post_addr,omitempty"`
	MaskPostAddr        *Address `json:"mask_post_addr,omitempty"`

	SkuOrderList []SkuOrder `json:"sku_order_list"`
}

// Address is a receiver address; Province and City are plain text.
type Address struct {
	Province      *Region `json:"province,omitempty"`
	City          *Region `json:"city,omitempty"`
	Town          *Region `json:"town,omitempty"`
	Street        *Region `json:"street,omitempty"`
	Detail        string  `json:"detail"`
	EncryptDetail string  `json:"encrypt_detail,omitempty"`
}

// Region is one level of an address.
type Region struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// SkuOrder is a child (item) order. One child shares its id with the parent.
type SkuOrder struct {
	OrderID         string `json:"order_id"`
	ParentOrderID   string `json:"parent_order_id"`
	OrderStatus     int    `json:"order_status"`
	OrderStatusDesc string `json:"order_status_desc"`
	ProductID       int64  `json:"product_id"`
	ProductIDStr    string `json:"product_id_str"`
	ProductName     string `json:"product_name"`
	SkuID           int64  `json:"sku_id"`
	OutSkuID        string `json:"out_sku_id"`
	Code            string `json:"code"`
	ItemNum         int64  `json:"item_num"`

	CreateTime int64 `json:"create_time"`
	UpdateTime int64 `json:"update_time"`
	PayTime    int64 `json:"pay_time"`
	FinishTime int64 `json:"finish_time"`

	// OriginAmount is the unit price; SumAmount OriginAmount×ItemNum.
	OriginAmount    mapping.Fen `json:"origin_amount"`
	SumAmount       mapping.Fen `json:"sum_amount"`
	OrderAmount     mapping.Fen `json:"order_amount"`
	PayAmount       mapping.Fen `json:"pay_amount"`
	PostAmount      mapping.Fen `json:"post_amount"`
	PromotionAmount mapping.Fen `json:"promotion_amount"`

	AfterSaleInfo *AfterSaleInfo `json:"after_sale_info,omitempty"`
}

// AfterSaleInfo is a child order's after-sale state. RefundStatus: 1 pending,
// 3 refunded, 4 refund failed.
type AfterSaleInfo struct {
	AfterSaleStatus int `json:"after_sale_status"`
	AfterSaleType   int `json:"after_sale_type"`
	RefundStatus    int `json:"refund_status"`
}
