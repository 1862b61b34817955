package sandbox

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
)

func (s *Server) orderSearchList(p map[string]any) (any, *apiErr) {
	now := s.now().Unix()
	var v [4]int64
	var set [4]bool
	for i, k := range []string{"create_time_start", "create_time_end", "update_time_start", "update_time_end"} {
		n, ok, e := paramInt(p, k)
		if e != nil {
			return nil, e
		}
		v[i], set[i] = n, ok && n != 0
	}
	cStart, cEnd, uStart, uEnd := v[0], v[1], v[2], v[3]
	hasCreate, hasUpdate := set[0], set[2]
	if !hasCreate && !hasUpdate {
		return nil, errf(doudian.CodeInvalidBizParam, doudian.SubOrderStartMissing, "订单查询开始时间不能为空")
	}
	horizon := now - int64(doudian.HistoryLimit/time.Second)
	if (hasCreate && cStart < horizon) || (hasUpdate && uStart < horizon) {
		return nil, errf(doudian.CodeInvalidBizParam, doudian.SubOrderHistory, "订单查询只支持查询最近90天内的数据")
	}
	if !set[1] {
		cEnd = now
	}
	if !set[3] {
		uEnd = now
	}
	if (hasCreate && cStart > cEnd) || (hasUpdate && uStart > uEnd) {
		return nil, errf(doudian.CodeInvalidBizParam, doudian.SubOrderStartAfterEnd, "订单查询开始时间不能晚于结束时间")
	}
	page, _, e := paramInt(p, "page")
	if e != nil {
		return nil, e
	}
	size, sizeSet, e := paramInt(p, "size")
	if e != nil {
		return nil, e
	}
	switch {
	case page < 0:
		return nil, errf(doudian.CodeInvalidBizParam, doudian.SubOrderPageNegative, "查询订单列表页数不能小于0")
	case size > doudian.MaxPageSize:
		return nil, errf(doudian.CodeInvalidBizParam, doudian.SubOrderPageSize, "单次查询订单数超过限制")
	case !sizeSet || size < 1:
		return nil, errf(doudian.CodeInvalidBizParam, doudian.SubOrderPageSize, "单页大小须在1到100之间")
	}
	statuses, e := combineStatus(p)
	if e != nil {
		return nil, e
	}
	byUpdate := false
	switch ob := paramString(p, "order_by"); ob {
	case "", doudian.OrderByCreateTime:
	case doudian.OrderByUpdateTime:
		byUpdate = true
	default:
		return nil, errf(doudian.CodeInvalidBizParam, doudian.SubParamInvalid, "order_by取值非法: %s", ob)
	}
	asc := paramBool(p, "order_asc")

	offset := page * size
	if offset >= doudian.MaxReachableRows {
		return nil, errf(doudian.CodeInvalidBizParam, doudian.SubOrderTooDeep, "订单查询最多支持查询5万")
	}
	want := min(size, doudian.MaxReachableRows-offset)

	var total int
	var picked []int32
	switch {
	case statuses == nil && hasUpdate && !hasCreate && byUpdate:
		// Fast path: the update index answers totals and pages directly.
		before, n := s.upd.window(uStart, uEnd)
		total = n
		for k := offset; k < offset+want && k < int64(n); k++ {
			picked = append(picked, s.upd.at(before, n, int(k), asc))
		}
	case statuses == nil && hasCreate && !hasUpdate && !byUpdate:
		lo, hi := s.byCr.window(cStart, cEnd)
		total = hi - lo
		for k := offset; k < offset+want && k < int64(total); k++ {
			pos := lo + int(k)
			if !asc {
				pos = hi - 1 - int(k)
			}
			picked = append(picked, s.byCr.ord[pos])
		}
	default:
		// Slow path: collect every match, then sort.
		var all []int32
		keep := func(o int32) {
			ord := &s.orders[o]
			if hasCreate && (ord.created < cStart || ord.created > cEnd) {
				return
			}
			if hasUpdate && (ord.updated < uStart || ord.updated > uEnd) {
				return
			}
			if statuses != nil && !slices.Contains(statuses, int(ord.status)) {
				return
			}
			all = append(all, o)
		}
		if hasUpdate {
			s.upd.live(uStart, uEnd, keep)
		} else {
			lo, hi := s.byCr.window(cStart, cEnd)
			for _, o := range s.byCr.ord[lo:hi] {
				keep(o)
			}
		}
		key := func(o int32) int64 {
			if byUpdate {
				return s.orders[o].updated
			}
			return s.orders[o].created
		}
		slices.SortFunc(all, func(a, b int32) int {
			c := cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a, b))
			if !asc {
				c = -c
			}
			return c
		})
		total = len(all)
		if offset < int64(total) {
			picked = all[offset:min(int64(total), offset+want)]
		}
	}
	list := make([]doudian.ShopOrder, 0, len(picked))
	for _, o := range picked {
		list = append(list, s.render(int(o), s.cfg.ShopName))
	}
	return doudian.OrderSearchListResult{Page: page, Size: size, Total: int64(total), ShopOrderList: list}, nil
}

// combineStatus reads combine_status: nil when absent, else the statuses of
// its one element.
func combineStatus(p map[string]any) ([]int, *apiErr) {
	raw, ok := p["combine_status"]
	if !ok || raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, errf(doudian.CodeInvalidBizParam, doudian.SubParamInvalid, "combine_status须为列表")
	}
	switch {
	case len(list) == 0:
		return nil, nil
	case len(list) > 1:
		return nil, errf(doudian.CodeInvalidBizParam, doudian.SubOrderStatusTooMany, "订单查询状态条件超过限制，只支持1个元素")
	}
	elem, _ := list[0].(map[string]any)
	text := paramString(elem, "order_status")
	if text == "" {
		return nil, nil
	}
	out := []int{}
	for f := range strings.SplitSeq(text, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, errf(doudian.CodeInvalidBizParam, doudian.SubParamInvalid, "order_status取值非法: %s", text)
		}
		out = append(out, n)
	}
	return out, nil
}

func (s *Server) orderDetail(p map[string]any) (any, *apiErr) {
	id := paramString(p, "shop_order_id")
	if id == "" {
		return nil, errf(doudian.CodeMissingBizParam, doudian.SubParamInvalid, "shop_order_id不能为空")
	}
	i, ok := s.orderIndex(id)
	if !ok {
		return nil, errf(doudian.CodeInvalidBizParam, doudian.SubParamInvalid, "订单不存在")
	}
	so := s.render(i, s.cfg.ShopName)
	return map[string]any{"shop_order_detail": so}, nil
}

// OrderCount is the number of orders.
func (s *Server) OrderCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.orders)
}

// OrderID returns the id of the i-th generated order (0 <= i < OrderCount).
// The first seven orders are in the seven statuses, in the order 1, 105, 2,
// 101 (or 3 when single-item), 3, 4, 5.
func (s *Server) OrderID(i int) string {
	return s.orderID(i, 0)
}

// Order returns an order as order.orderDetail would.
func (s *Server) Order(id string) (doudian.ShopOrder, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.orderIndex(id)
	if !ok {
		return doudian.ShopOrder{}, false
	}
	return s.render(i, s.cfg.ShopName), true
}

// TouchOrder sets an order's update_time to now without changing its status
// (as a seller remark or address change would).
func (s *Server) TouchOrder(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.orderIndex(id)
	if !ok {
		return fmt.Errorf("sandbox: no order %q", id)
	}
	s.touch(i, s.now().Unix())
	return nil
}

func (s *Server) touch(i int, at int64) {
	s.orders[i].updated = max(at, s.orders[i].updated)
	s.upd.move(int32(i), s.orders[i].updated)
}

// Advance moves the sandbox's clock ahead by d and lets orders progress as
// time passes: Config.ChurnPerHour status changes per hour of d (one step
// each — payment or cancellation, preparation, shipping, completion), at
// times spread over the interval. It returns the ids of the orders that
// changed, sorted. Tokens expire by the moved clock.
func (s *Server) Advance(d time.Duration) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		return nil
	}
	from := s.now().Unix()
	s.offset += d
	to := s.now().Unix()
	n := 0
	if s.cfg.ChurnPerHour > 0 {
		n = int(int64(s.cfg.ChurnPerHour) * int64(d) / int64(time.Hour))
	}
	if n == 0 || len(s.orders) == 0 {
		return nil
	}
	s.churnSeq++
	r := rand.New(rand.NewPCG(s.cfg.Seed^saltChurn, s.churnSeq))
	changed := map[string]bool{}
	for k := range n {
		at := from + (to-from)*int64(k+1)/int64(n+1)
		for range 32 { // find an order that can still move
			i := r.IntN(len(s.orders))
			if s.step(i, at, r) {
				changed[s.orderID(i, 0)] = true
				break
			}
		}
	}
	ids := make([]string, 0, len(changed))
	for id := range changed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// step moves order i one step along its life at time at; false when it is
// cancelled or completed already.
func (s *Server) step(i int, at int64, r *rand.Rand) bool {
	o := &s.orders[i]
	switch o.status {
	case doudian.OrderStatusCreated:
		if r.IntN(5) == 0 {
			o.status, o.cancel = doudian.OrderStatusCancelled, 0
		} else {
			o.status, o.paid = doudian.OrderStatusPaid, at
		}
	case doudian.OrderStatusPaid:
		o.status = doudian.OrderStatusAwaitingShipment
	case doudian.OrderStatusAwaitingShipment:
		o.status, o.shipped = doudian.OrderStatusShipped, at
		if len(s.items(i)) > 1 && r.IntN(3) == 0 {
			o.status = doudian.OrderStatusPartlyShipped
		}
	case doudian.OrderStatusPartlyShipped:
		o.status = doudian.OrderStatusShipped
	case doudian.OrderStatusShipped:
		o.status, o.finished = doudian.OrderStatusCompleted, at
	default:
		return false
	}
	s.touch(i, at)
	return true
}
