package sandbox

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

type orderListRequest struct {
	PayTimeRange *struct {
		BeginTime int64 `json:"begin_time"`
		EndTime   int64 `json:"end_time"`
	} `json:"pay_time_range"`
	OrderState int    `json:"order_state"`
	OpenID     string `json:"openid"`
	LastIndex  string `json:"last_index"`
	PageSize   int    `json:"page_size"`
}

type shippingItem struct {
	TrackingNo     string `json:"tracking_no"`
	ExpressCompany string `json:"express_company"`
	UploadTime     int64  `json:"upload_time"`
}

type shippingDetail struct {
	DeliveryMode        int            `json:"delivery_mode"`
	LogisticsType       int            `json:"logistics_type"`
	FinishShipping      bool           `json:"finish_shipping"`
	FinishShippingCount int            `json:"finish_shipping_count"`
	GoodsDesc           string         `json:"goods_desc"`
	ShippingList        []shippingItem `json:"shipping_list"`
}

type wireOrder struct {
	TransactionID   string          `json:"transaction_id"`
	MerchantTradeNo string          `json:"merchant_trade_no"`
	MerchantID      string          `json:"merchant_id"`
	SubMerchantID   string          `json:"sub_merchant_id"`
	Description     string          `json:"description"`
	PaidAmount      int64           `json:"paid_amount"`
	OpenID          string          `json:"openid"`
	TradeCreateTime int64           `json:"trade_create_time"`
	PayTime         int64           `json:"pay_time"`
	InComplaint     bool            `json:"in_complaint"`
	OrderState      int             `json:"order_state"`
	Shipping        *shippingDetail `json:"shipping,omitempty"`
}

func (o Order) wire() wireOrder {
	w := wireOrder{TransactionID: o.TransactionID, MerchantTradeNo: o.MerchantTradeNo, MerchantID: o.MerchantID,
		Description: o.Description, PaidAmount: o.PaidAmount, OpenID: o.OpenID, TradeCreateTime: o.TradeCreateTime,
		PayTime: o.PayTime, OrderState: o.State}
	if o.UploadTime > 0 {
		w.Shipping = &shippingDetail{DeliveryMode: 1, LogisticsType: 1, FinishShipping: true, FinishShippingCount: 1,
			ShippingList: []shippingItem{{TrackingNo: o.TrackingNo, ExpressCompany: "SF", UploadTime: o.UploadTime}}}
	}
	return w
}

// indexOf is the opaque last_index of an order: its place in pay-time order.
func indexOf(o Order) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(o.PayTime, 10) + ":" + o.TransactionID))
}

func parseIndex(s string) (int64, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, "", false
	}
	ts, tid, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(ts, 10, 64)
	return n, tid, ok && err == nil
}

// orderList serves POST /wxa/sec/order/get_order_list: orders paid within
// pay_time_range (both ends inclusive; an absent end is open), of
// order_state and openid when given, by pay time, after last_index. A page
// size above 50 or below 1, a begin after the end, or an unknown last_index
// answers 47001; how the live API words those is not documented [L].
func (s *Server) orderList(w http.ResponseWriter, r *http.Request) {
	var req orderListRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	var begin, end int64
	if req.PayTimeRange != nil {
		begin, end = req.PayTimeRange.BeginTime, req.PayTimeRange.EndTime
	}
	if req.PageSize < 1 || req.PageSize > MaxPageSize || (end > 0 && begin > end) {
		s.fail(w, CodeBadJSON, "")
		return
	}
	var afterTS int64
	var afterTID string
	if req.LastIndex != "" {
		var ok bool
		if afterTS, afterTID, ok = parseIndex(req.LastIndex); !ok {
			s.fail(w, CodeBadJSON, "")
			return
		}
	}
	s.mu.Lock()
	var page []wireOrder
	var last string
	more := false
	for _, o := range s.orders {
		if o.PayTime < begin || (end > 0 && o.PayTime > end) ||
			(req.OrderState != 0 && o.State != req.OrderState) || (req.OpenID != "" && o.OpenID != req.OpenID) {
			continue
		}
		if req.LastIndex != "" && (o.PayTime < afterTS || (o.PayTime == afterTS && o.TransactionID <= afterTID)) {
			continue
		}
		if len(page) == req.PageSize {
			more = true
			break
		}
		page = append(page, o.wire())
		last = indexOf(o)
	}
	s.mu.Unlock()
	if page == nil {
		page = []wireOrder{}
	}
	writeJSON(w, struct {
		ErrCode   int         `json:"errcode"`
		ErrMsg    string      `json:"errmsg"`
		OrderList []wireOrder `json:"order_list"`
		LastIndex string      `json:"last_index"`
		HasMore   bool        `json:"has_more"`
	}{ErrMsg: "ok", OrderList: page, LastIndex: last, HasMore: more})
}
