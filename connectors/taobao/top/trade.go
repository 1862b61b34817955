package top

import (
	"strconv"
	"time"
)

// API methods this package knows.
const (
	MethodTradesSoldGet          = "taobao.trades.sold.get"
	MethodTradesSoldIncrementGet = "taobao.trades.sold.increment.get"
	MethodTradeFullinfoGet       = "taobao.trade.fullinfo.get"
	MethodCRMMembersGet          = "taobao.crm.members.get"
	MethodCRMMembersIncrementGet = "taobao.crm.members.increment.get"
	MethodTMCMessagesConsume     = "taobao.tmc.messages.consume"
	MethodTMCMessagesConfirm     = "taobao.tmc.messages.confirm"
	MethodMeiMemberSync          = "tmall.mei.crm.member.sync"
	MethodMeiPointChangeCallback = "tmall.mei.crm.callback.point.change"
	MethodTokenRefresh           = "taobao.top.auth.token.refresh"
)

// Trade status values (fact sheet §1.5).
const (
	TradeNoCreatePay         = "TRADE_NO_CREATE_PAY"
	TradeWaitBuyerPay        = "WAIT_BUYER_PAY"
	TradeSellerConsignedPart = "SELLER_CONSIGNED_PART"
	TradeWaitSellerSendGoods = "WAIT_SELLER_SEND_GOODS"
	TradeWaitBuyerConfirm    = "WAIT_BUYER_CONFIRM_GOODS"
	TradeBuyerSigned         = "TRADE_BUYER_SIGNED"
	TradeFinished            = "TRADE_FINISHED"
	TradeClosed              = "TRADE_CLOSED"
	TradeClosedByTaobao      = "TRADE_CLOSED_BY_TAOBAO"
	TradePayPending          = "PAY_PENDING"
	TradeWaitPreAuthConfirm  = "WAIT_PRE_AUTH_CONFIRM"
	TradePaidForbidConsign   = "PAID_FORBID_CONSIGN"
)

// TradeStatuses lists every trade status value of the fact sheet.
func TradeStatuses() []string {
	return []string{TradeNoCreatePay, TradeWaitBuyerPay, TradeSellerConsignedPart, TradeWaitSellerSendGoods,
		TradeWaitBuyerConfirm, TradeBuyerSigned, TradeFinished, TradeClosed, TradeClosedByTaobao,
		TradePayPending, TradeWaitPreAuthConfirm, TradePaidForbidConsign}
}

// Sub-order refund_status values (TOP Order.refund_status).
const (
	RefundNone              = "NO_REFUND"
	RefundWaitSellerAgree   = "WAIT_SELLER_AGREE"
	RefundWaitBuyerReturn   = "WAIT_BUYER_RETURN_GOODS"
	RefundWaitSellerConfirm = "WAIT_SELLER_CONFIRM_GOODS"
	RefundSellerRefuse      = "SELLER_REFUSE_BUYER"
	RefundClosed            = "CLOSED"
	RefundSuccess           = "SUCCESS"
)

// Paging limits.
const (
	MaxPageSize = 100
	// MaxIncrementSpan is the longest start_modified…end_modified span of
	// taobao.trades.sold.increment.get.
	MaxIncrementSpan = 24 * time.Hour
	// History is how far back the trade APIs reach (3 months).
	History = 90 * 24 * time.Hour
)

// TradeFields is the fields parameter the connector asks for: what the
// canonical order needs, sub-orders included. Receiver names, phones and
// addresses are not asked for.
const TradeFields = "tid,tid_str,status,type,created,modified,pay_time,end_time,consign_time," +
	"payment,total_fee,post_fee,discount_fee,adjust_fee,received_payment,buyer_nick,buyer_open_uid," +
	"receiver_state,receiver_city,seller_nick,orders"

// Trade is a trade as the trade APIs return it (simplify=true). Times are
// GMT+8 strings and amounts yuan strings, as sent.
type Trade struct {
	Tid             int64   `json:"tid"`
	TidStr          string  `json:"tid_str,omitempty"`
	Status          string  `json:"status"`
	Type            string  `json:"type,omitempty"`
	Created         string  `json:"created,omitempty"`
	Modified        string  `json:"modified,omitempty"`
	PayTime         string  `json:"pay_time,omitempty"`
	EndTime         string  `json:"end_time,omitempty"`
	ConsignTime     string  `json:"consign_time,omitempty"`
	Payment         string  `json:"payment,omitempty"`
	TotalFee        string  `json:"total_fee,omitempty"`
	PostFee         string  `json:"post_fee,omitempty"`
	DiscountFee     string  `json:"discount_fee,omitempty"`
	AdjustFee       string  `json:"adjust_fee,omitempty"`
	ReceivedPayment string  `json:"received_payment,omitempty"`
	BuyerNick       string  `json:"buyer_nick,omitempty"` // masked: display only
	BuyerOpenUID    string  `json:"buyer_open_uid,omitempty"`
	OAID            string  `json:"oaid,omitempty"`
	ReceiverState   string  `json:"receiver_state,omitempty"`
	ReceiverCity    string  `json:"receiver_city,omitempty"`
	SellerNick      string  `json:"seller_nick,omitempty"`
	Orders          []Order `json:"orders,omitempty"`
}

// ID is the trade id in decimal (tid_str when present).
func (t *Trade) ID() string {
	if t.TidStr != "" {
		return t.TidStr
	}
	if t.Tid == 0 {
		return ""
	}
	return strconv.FormatInt(t.Tid, 10)
}

// Order is a sub-order of a trade.
type Order struct {
	Oid          int64  `json:"oid"`
	OidStr       string `json:"oid_str,omitempty"`
	NumIid       int64  `json:"num_iid,omitempty"`
	SkuID        string `json:"sku_id,omitempty"`
	OuterSkuID   string `json:"outer_sku_id,omitempty"`
	OuterIid     string `json:"outer_iid,omitempty"`
	Title        string `json:"title,omitempty"`
	Num          int64  `json:"num"`
	Price        string `json:"price,omitempty"`
	TotalFee     string `json:"total_fee,omitempty"`
	Payment      string `json:"payment,omitempty"`
	DiscountFee  string `json:"discount_fee,omitempty"`
	Status       string `json:"status,omitempty"`
	RefundStatus string `json:"refund_status,omitempty"`
}

// TradesResult is the answer of the trade list APIs.
type TradesResult struct {
	Trades       []Trade `json:"trades"`
	TotalResults int64   `json:"total_results"`
	HasNext      bool    `json:"has_next"`
}

// FullinfoResult is the answer of taobao.trade.fullinfo.get.
type FullinfoResult struct {
	Trade *Trade `json:"trade"`
}

// SoldGet is a taobao.trades.sold.get request: trades by creation time,
// sorted by created descending, last three months only.
type SoldGet struct {
	Fields       string
	StartCreated time.Time // zero: no lower bound
	EndCreated   time.Time // zero: no upper bound
	Status       string
	Type         string
	PageNo       int
	PageSize     int
	UseHasNext   bool
	BuyerOpenID  string
}

// Params renders the request's business parameters.
func (r SoldGet) Params() map[string]string {
	p := map[string]string{"fields": r.Fields, "status": r.Status, "type": r.Type, "buyer_open_id": r.BuyerOpenID}
	if p["fields"] == "" {
		p["fields"] = TradeFields
	}
	if !r.StartCreated.IsZero() {
		p["start_created"] = FormatTime(r.StartCreated)
	}
	if !r.EndCreated.IsZero() {
		p["end_created"] = FormatTime(r.EndCreated)
	}
	paging(p, r.PageNo, r.PageSize, r.UseHasNext)
	return p
}

// IncrementGet is a taobao.trades.sold.increment.get request: trades by
// modification time, sorted by modified descending, span at most a day.
// The platform advises paging from the last page backwards.
type IncrementGet struct {
	Fields        string
	StartModified time.Time
	EndModified   time.Time
	Status        string
	Type          string
	PageNo        int
	PageSize      int
	UseHasNext    bool
}

// Params renders the request's business parameters.
func (r IncrementGet) Params() map[string]string {
	p := map[string]string{"fields": r.Fields, "status": r.Status, "type": r.Type,
		"start_modified": FormatTime(r.StartModified), "end_modified": FormatTime(r.EndModified)}
	if p["fields"] == "" {
		p["fields"] = TradeFields
	}
	paging(p, r.PageNo, r.PageSize, r.UseHasNext)
	return p
}

// FullinfoParams are the parameters of taobao.trade.fullinfo.get.
func FullinfoParams(tid, fields string) map[string]string {
	if fields == "" {
		fields = TradeFields
	}
	return map[string]string{"tid": tid, "fields": fields}
}

func paging(p map[string]string, no, size int, hasNext bool) {
	if no > 0 {
		p["page_no"] = strconv.Itoa(no)
	}
	if size > 0 {
		p["page_size"] = strconv.Itoa(size)
	}
	if hasNext {
		p["use_has_next"] = "true"
	}
}

// LastPage is the last page number for total results of size per page (at
// least 1).
func LastPage(total int64, size int) int {
	if total <= 0 || size <= 0 {
		return 1
	}
	return int((total + int64(size) - 1) / int64(size))
}
