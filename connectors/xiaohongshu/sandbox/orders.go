package sandbox

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
	"github.com/channelhub/channelhub/mapping"
)

// order is one order, compactly: details (lines, amounts) are derived from
// its position on demand. Times are epoch milliseconds, 0 for unset.
type order struct {
	id                  string
	buyer               int32 // index into Server.buyers, -1 for none
	status              int8
	orderType           int8
	afterSale           int8
	created, updated    int64
	paid, delivered     int64
	cancelled, finished int64
	// seq orders changes: the position for seeded orders, then a counter
	// (Server.seq) for every later change. It breaks ties of updated.
	seq int64
}

// Random-stream salts, so each use of the seed draws its own numbers.
const (
	saltOrder = 0x6f72646572       // "order"
	saltItems = 0x6974656d73       // "items"
	saltAddr  = "xiaohongshu-addr" // openAddressId platform key
)

const (
	minute = int64(time.Minute / time.Millisecond)
	hour   = 60 * minute
	day    = 24 * hour
)

// seed builds the buyers, the orders and their indexes, at clock time now.
func (s *Server) seed(now time.Time) {
	for _, p := range sandboxdata.Persons(s.cfg.Seed, s.cfg.Members) {
		if !p.On["xiaohongshu"] {
			continue
		}
		s.buyers = append(s.buyers, buyer{
			person:        p.Index,
			userID:        userID(s.cfg.Seed, s.cfg.SellerID, p.Index),
			openAddressID: sandboxdata.ID(s.cfg.Seed, saltAddr+"/"+s.cfg.SellerID, p.Index, 32),
			province:      p.Province,
			city:          p.City,
		})
	}
	for tt := range s.idx {
		for st := range s.idx[tt] {
			x := &index{key: s.createdKey, tie: position}
			if tt == int(ark.TimeUpdated)-1 {
				x.key, x.tie = s.updatedKey, s.updatedTie
			}
			s.idx[tt][st] = x
		}
	}
	n := s.cfg.Orders
	s.orders = make([]order, 0, n)
	s.byID = make(map[string]int32, n)
	t0 := now.UnixMilli()
	hist := max(s.cfg.History.Milliseconds(), 1)
	for i := range n {
		o, r := s.newOrder(i)
		o.created = t0 - hist + r.Int64N(hist)
		st := i + 1
		if i >= ark.StatusExchangeRequested {
			st = pickStatus(r)
		}
		settle(&o, st, r, t0)
		o.seq = int64(i)
		s.orders = append(s.orders, o)
		s.byID[o.id] = int32(i)
		for tt := range s.idx {
			s.idx[tt][0].ids = append(s.idx[tt][0].ids, int32(i))
			s.idx[tt][o.status].ids = append(s.idx[tt][o.status].ids, int32(i))
		}
	}
	for tt := range s.idx {
		for _, x := range s.idx[tt] {
			x.sort()
		}
	}
	s.seq = int64(n)
}

func (s *Server) createdKey(i int32) int64 { return s.orders[i].created }
func (s *Server) updatedKey(i int32) int64 { return s.orders[i].updated }
func (s *Server) updatedTie(i int32) int64 { return s.orders[i].seq }
func position(i int32) int64               { return int64(i) }

// orderID is the i-th order's id: "P7" and 17 digits, unique per i.
func orderID(seed uint64, i int) string {
	const mod = 100_000_000_000_000_000
	return fmt.Sprintf("P7%017d", (uint64(i)*7919+(seed%100_000_000_000)*104729)%mod)
}

// newOrder draws the parts of order i that never change (id, buyer, type)
// and returns the random stream to draw the rest from.
func (s *Server) newOrder(i int) (order, *rand.Rand) {
	r := rand.New(rand.NewPCG(s.cfg.Seed^saltOrder, uint64(i)))
	o := order{id: orderID(s.cfg.Seed, i), buyer: -1, orderType: ark.OrderTypeNormal, afterSale: ark.AfterSaleNone}
	if len(s.buyers) > 0 {
		o.buyer = int32(r.IntN(len(s.buyers)))
	}
	switch k := r.IntN(100); {
	case k < 5:
		o.orderType = ark.OrderTypeDeposit
	case k < 7:
		o.orderType = ark.OrderTypeFullPresale
	case k < 8:
		o.orderType = ark.OrderTypeExchangeReissue
	}
	return o, r
}

// pickStatus draws a status with a shop-like mix: mostly completed.
func pickStatus(r *rand.Rand) int {
	k := r.IntN(100)
	for _, c := range [...]struct{ upTo, status int }{
		{5, ark.StatusPendingPayment}, {8, ark.StatusPaidProcessing}, {10, ark.StatusCustomsClearance},
		{18, ark.StatusAwaitingShipment}, {20, ark.StatusPartlyShipped}, {30, ark.StatusAwaitingReceipt},
		{75, ark.StatusCompleted}, {83, ark.StatusClosed}, {95, ark.StatusCancelled},
	} {
		if k < c.upTo {
			return c.status
		}
	}
	return ark.StatusExchangeRequested
}

// settle gives a seeded order status st with the times the path to it
// leaves, none later than t0.
func settle(o *order, st int, r *rand.Rand, t0 int64) {
	c := o.created
	paid := c + minute + r.Int64N(30*minute)
	shipped := paid + 2*hour + r.Int64N(3*day)
	done := shipped + 2*day + r.Int64N(8*day)
	o.status = int8(st)
	switch st {
	case ark.StatusPendingPayment:
		o.updated = c
	case ark.StatusCancelled:
		o.cancelled = c + r.Int64N(30*minute)
		o.updated = o.cancelled
	case ark.StatusPaidProcessing, ark.StatusCustomsClearance, ark.StatusAwaitingShipment:
		o.paid = paid
		o.updated = paid + r.Int64N(2*hour)
	case ark.StatusPartlyShipped, ark.StatusAwaitingReceipt:
		o.paid, o.delivered = paid, shipped
		o.updated = shipped
	case ark.StatusCompleted:
		o.paid, o.delivered, o.finished = paid, shipped, done
		o.updated = done
	case ark.StatusClosed:
		o.paid, o.delivered, o.cancelled = paid, shipped, shipped+r.Int64N(5*day)
		o.afterSale = ark.AfterSaleDone
		o.updated = o.cancelled
	case ark.StatusExchangeRequested:
		o.paid, o.delivered = paid, shipped
		o.afterSale = ark.AfterSaleInProgress
		o.updated = shipped + day + r.Int64N(2*day)
	}
	o.updated = max(o.updated, c)
	if o.updated >= t0 {
		// The path would run past now: squeeze it to end at a random point
		// between creation and now, keeping its shape. (Order times, not
		// money: a float ratio is fine here.)
		end := c + r.Int64N(max(t0-c, 1))
		ratio := float64(end-c) / float64(o.updated-c)
		for _, p := range []*int64{&o.paid, &o.delivered, &o.cancelled, &o.finished, &o.updated} {
			if *p != 0 {
				*p = c + int64(float64(*p-c)*ratio)
			}
		}
	}
}

// move puts order i into status st at now (ms), as the platform would on a
// buyer's or seller's action, keeping the indexes in order. st 0 keeps the
// status and only stamps the update time. Guarded by mu.
func (s *Server) move(i int32, st int, now int64) {
	o := &s.orders[i]
	s.idx[0][o.status].remove(i)
	s.idx[1][0].remove(i)
	s.idx[1][o.status].remove(i)
	if st != 0 && st != int(o.status) {
		o.status = int8(st)
		switch {
		case st == ark.StatusCancelled:
			o.cancelled = now
		case st == ark.StatusClosed:
			o.cancelled, o.afterSale = now, ark.AfterSaleDone
		case st == ark.StatusExchangeRequested:
			o.afterSale = ark.AfterSaleInProgress
		case o.afterSale == ark.AfterSaleInProgress:
			o.afterSale = ark.AfterSaleDone
		}
		if st >= ark.StatusPaidProcessing && st != ark.StatusCancelled && o.paid == 0 {
			o.paid = now
		}
		if (st == ark.StatusPartlyShipped || st == ark.StatusAwaitingReceipt || st == ark.StatusCompleted || st == ark.StatusExchangeRequested) && o.delivered == 0 {
			o.delivered = now
		}
		if st == ark.StatusCompleted {
			o.finished = now
		}
	}
	o.updated = max(now, o.created)
	o.seq = s.seq
	s.seq++
	s.idx[0][o.status].insert(i)
	s.idx[1][0].insert(i)
	s.idx[1][o.status].insert(i)
}

// errNoOrder is returned for an order id the shop does not have.
var errNoOrder = errors.New("sandbox: no such order")

// TouchOrder changes an order now (Config.Now): status 1..10 moves it there
// (0 keeps its status) and its update time becomes now, moving it to the end
// of the update-time order. It returns the order as the list shows it.
func (s *Server) TouchOrder(orderID string, status int) (ark.OrderSummary, error) {
	if status < 0 || status > ark.StatusExchangeRequested {
		return ark.OrderSummary{}, fmt.Errorf("sandbox: order status %d is not within 0..10", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byID[orderID]
	if !ok {
		return ark.OrderSummary{}, fmt.Errorf("%w: %q", errNoOrder, orderID)
	}
	s.move(i, status, s.now().UnixMilli())
	return s.summary(i), nil
}

// nextStatus is where Advance moves an order; final statuses are absent.
func nextStatus(st int) int {
	switch st {
	case ark.StatusPendingPayment:
		return ark.StatusPaidProcessing
	case ark.StatusPaidProcessing, ark.StatusCustomsClearance:
		return ark.StatusAwaitingShipment
	case ark.StatusAwaitingShipment, ark.StatusPartlyShipped:
		return ark.StatusAwaitingReceipt
	case ark.StatusAwaitingReceipt, ark.StatusExchangeRequested:
		return ark.StatusCompleted
	}
	return 0
}

// Advance moves up to n open orders (not completed, closed or cancelled),
// picked by the seeded random stream, one step along their lifecycle now:
// pending → paid → awaiting shipment → awaiting receipt → completed. It
// returns their ids.
func (s *Server) Advance(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UnixMilli()
	var out []string
	picked := map[int32]bool{}
	for tries := 0; len(out) < n && tries < 50*n && len(s.orders) > 0; tries++ {
		i := int32(s.rng.IntN(len(s.orders)))
		next := nextStatus(int(s.orders[i].status))
		if next == 0 || picked[i] {
			continue
		}
		picked[i] = true
		s.move(i, next, now)
		out = append(out, s.orders[i].id)
	}
	return out
}

// AddOrders places n new orders now, awaiting payment or paid, and returns
// their ids.
func (s *Server) AddOrders(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UnixMilli()
	out := make([]string, 0, max(n, 0))
	for range n {
		i := len(s.orders)
		o, _ := s.newOrder(i)
		o.created, o.updated, o.status = now, now, ark.StatusPendingPayment
		o.seq = s.seq
		s.seq++
		if s.rng.IntN(2) == 0 {
			o.status, o.paid = ark.StatusPaidProcessing, now
		}
		s.orders = append(s.orders, o)
		s.byID[o.id] = int32(i)
		for tt := range s.idx {
			s.idx[tt][0].insert(int32(i))
			s.idx[tt][o.status].insert(int32(i))
		}
		out = append(out, o.id)
	}
	return out
}

// OrderIDs returns every order id, in the order the orders were placed in
// the sandbox (not by time).
func (s *Server) OrderIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.orders))
	for i := range s.orders {
		out[i] = s.orders[i].id
	}
	return out
}

// Order returns an order as order.getOrderDetail would.
func (s *Server) Order(orderID string) (ark.OrderDetail, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byID[orderID]
	if !ok {
		return ark.OrderDetail{}, false
	}
	return s.detail(i), true
}

// BuyerOf returns the sandboxdata person index of an order's buyer.
func (s *Server) BuyerOf(orderID string) (person int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, found := s.byID[orderID]
	if !found || s.orders[i].buyer < 0 {
		return 0, false
	}
	return s.buyers[s.orders[i].buyer].person, true
}

// summary renders order i as an order.getOrderList item. Guarded by mu.
func (s *Server) summary(i int32) ark.OrderSummary {
	o := &s.orders[i]
	out := ark.OrderSummary{
		OrderID: o.id, OrderType: int(o.orderType), OrderStatus: int(o.status),
		OrderAfterSalesStatus: int(o.afterSale),
		CreatedTime:           ark.Millis(o.created), UpdateTime: ark.Millis(o.updated),
		PaidTime: ark.Millis(o.paid), DeliveryTime: ark.Millis(o.delivered),
		CancelTime: ark.Millis(o.cancelled), FinishTime: ark.Millis(o.finished),
		ReceiverCountryID: "1", ReceiverCountryName: "中国",
		Logistics: "red_auto",
	}
	if o.paid != 0 {
		out.PromiseLastDeliveryTime = ark.Millis(o.paid + 2*day)
	}
	if o.buyer >= 0 {
		b := &s.buyers[o.buyer]
		out.ReceiverProvinceName, out.ReceiverCityName = b.province, b.city
	}
	return out
}

// product is the sku catalogue: name and price in fen.
func product(k int) (string, mapping.Fen) {
	switch k % 8 {
	case 0:
		return "保湿精华液 30ml", 19900
	case 1:
		return "氨基酸洁面乳 120g", 6900
	case 2:
		return "防晒喷雾 SPF50", 9900
	case 3:
		return "丝绒哑光口红", 12900
	case 4:
		return "修护面膜 5片装", 5990
	case 5:
		return "香氛身体乳 250ml", 7990
	case 6:
		return "控油散粉", 8900
	}
	return "卸妆油 200ml", 15900
}

// detail renders order i as order.getOrderDetail data; lines and amounts
// are drawn from i's own stream, so they never change. Guarded by mu.
func (s *Server) detail(i int32) ark.OrderDetail {
	o := &s.orders[i]
	r := rand.New(rand.NewPCG(s.cfg.Seed^saltItems, uint64(i)))
	d := ark.OrderDetail{
		OrderSummary: s.summary(i),
		ShopID:       s.cfg.SellerID, ShopName: s.cfg.SellerName,
		PaymentType: 1 + r.IntN(2),
	}
	if o.buyer >= 0 {
		b := &s.buyers[o.buyer]
		d.UserID, d.OpenAddressID = b.userID, b.openAddressID
	}
	var paid, merchant, red mapping.Fen
	for range 1 + r.IntN(3) {
		k := r.IntN(8)
		name, price := product(k)
		qty := int64(1 + r.IntN(3))
		gross := price * mapping.Fen(qty)
		var md, rd mapping.Fen
		if r.IntN(3) == 0 {
			md = gross / 10
		}
		if r.IntN(5) == 0 {
			rd = min(500, gross/20)
		}
		line := gross - md - rd
		skuID := sandboxdata.ID(s.cfg.Seed, "xiaohongshu-sku", k, 24)
		d.SkuList = append(d.SkuList, ark.OrderSku{
			SkuID: skuID, SkuName: name, Erpcode: fmt.Sprintf("ERP-%03d", k), SkuQuantity: qty,
			ItemID: sandboxdata.ID(s.cfg.Seed, "xiaohongshu-item", k, 24), ItemName: name,
			TotalPaidAmount: line, TotalMerchantDiscount: md, TotalRedDiscount: rd,
			SkuAfterSaleStatus: int(o.afterSale),
			SkuDetailList: []ark.OrderSkuDetail{{
				SkuID: skuID, ErpCode: fmt.Sprintf("ERP-%03d", k), SkuName: name, Quantity: qty,
				PricePerSku: price, RawPricePerSku: price,
				PaidAmountPerSku: line / mapping.Fen(qty), MerchantDiscountPerSku: md / mapping.Fen(qty), RedDiscountPerSku: rd / mapping.Fen(qty),
			}},
		})
		paid += line
		merchant += md
		red += rd
	}
	var shipping mapping.Fen
	if paid < 9900 {
		shipping = 1000
	}
	d.TotalPayAmount = paid + shipping
	d.TotalShippingFree = shipping
	d.TotalMerchantDiscount = merchant
	d.TotalRedDiscount = red
	if o.orderType == ark.OrderTypeDeposit {
		d.TotalDepositAmount = d.TotalPayAmount / 5
	}
	d.MerchantActualReceiveAmount = d.TotalPayAmount + red
	if o.delivered != 0 {
		d.ExpressCompanyCode = "shunfeng"
		d.ExpressTrackingNo = fmt.Sprintf("SF%013d", (uint64(i)*104723+s.cfg.Seed)%10_000_000_000_000)
	}
	return d
}

func (s *Server) getOrderList(w http.ResponseWriter, body []byte) {
	var req struct {
		StartTime   *int64 `json:"startTime"`
		EndTime     *int64 `json:"endTime"`
		TimeType    *int   `json:"timeType"`
		OrderType   *int   `json:"orderType"`
		OrderStatus *int   `json:"orderStatus"`
		PageNo      *int   `json:"pageNo"`
		PageSize    *int   `json:"pageSize"`
	}
	if !s.decodeParams(w, body, &req) {
		return
	}
	orZero := func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	}
	tt, ot, st, pageNo, pageSize := ark.TimeType(orZero(req.TimeType)), orZero(req.OrderType), orZero(req.OrderStatus), orZero(req.PageNo), orZero(req.PageSize)
	if pageNo == 0 {
		pageNo = 1
	}
	if pageSize == 0 {
		pageSize = ark.DefaultPageSize
	}
	var msg string
	switch {
	case req.StartTime == nil || req.EndTime == nil || req.TimeType == nil:
		msg = "startTime、endTime、timeType为必填参数"
	case tt != ark.TimeCreated && tt != ark.TimeUpdated:
		msg = "timeType须为1（创建时间）或2（更新时间）"
	case *req.EndTime < *req.StartTime:
		msg = "endTime不能早于startTime"
	case tt == ark.TimeCreated && *req.EndTime-*req.StartTime > 24*60*60:
		msg = "timeType=1时时间范围不能超过24小时"
	case tt == ark.TimeUpdated && *req.EndTime-*req.StartTime > 30*60:
		msg = "timeType=2时时间范围不能超过30分钟"
	case pageNo < 1 || pageNo > ark.MaxPageNo:
		msg = fmt.Sprintf("pageNo须在1到%d之间", ark.MaxPageNo)
	case pageSize < 1 || pageSize > ark.MaxPageSize:
		msg = fmt.Sprintf("pageSize须在1到%d之间", ark.MaxPageSize)
	case st < 0 || st > ark.StatusExchangeRequested:
		msg = "orderStatus无效"
	case ot < 0 || ot > ark.OrderTypeExchangeReissue:
		msg = "orderType无效"
	}
	if msg != "" {
		s.fail(w, ark.CodeBadParams, msg)
		return
	}
	lo, hi := *req.StartTime*1000, *req.EndTime*1000+999

	s.mu.Lock()
	x := s.idx[tt-1][st]
	i, j := x.span(lo, hi)
	ids := x.ids[i:j]
	if ot != ark.OrderTypeAll {
		// No index by type: filter the window (at most a day of orders).
		var keep []int32
		for _, id := range ids {
			if int(s.orders[id].orderType) == ot {
				keep = append(keep, id)
			}
		}
		ids = keep
	}
	out := ark.OrderList{Total: len(ids), PageNo: pageNo, PageSize: pageSize, Orders: []ark.OrderSummary{}}
	out.MaxPageNo = min((len(ids)+pageSize-1)/pageSize, ark.MaxPageNo)
	if from := (pageNo - 1) * pageSize; from < len(ids) {
		for _, id := range ids[from:min(from+pageSize, len(ids))] {
			out.Orders = append(out.Orders, s.summary(id))
		}
	}
	s.mu.Unlock()
	reply(w, out)
}

func (s *Server) getOrderDetail(w http.ResponseWriter, body []byte) {
	var req struct {
		OrderID string `json:"orderId"`
	}
	if !s.decodeParams(w, body, &req) {
		return
	}
	if req.OrderID == "" {
		s.fail(w, ark.CodeBadParams, "orderId为必填参数")
		return
	}
	d, ok := s.Order(req.OrderID)
	if !ok {
		s.fail(w, ark.CodeOrderNotFound, "订单不存在或不属于此商家")
		return
	}
	reply(w, d)
}
