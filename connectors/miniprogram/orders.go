package miniprogram

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/silenceper/wechat/v2/miniprogram/order"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// cursor is the orders stream's checkpoint: every order paid before
// PaidBefore (unix seconds) has been read.
type cursor struct {
	PaidBefore int64 `json:"paid_before"`
}

func parseCursor(b []byte) (cursor, error) {
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.PaidBefore <= 0 {
		return cursor{}, sdk.PermanentError("", "orders checkpoint %q is not this connector's: reset the stream", truncate(string(b)))
	}
	return c, nil
}

// listRequest asks for the orders paid in [begin, end). The API's range is
// taken as inclusive at both ends (not documented either way), so the query
// ends a second before end and adjacent windows never share a second.
func listRequest(begin, end time.Time, lastIndex string, size int64) *order.GetShippingOrderListRequest {
	return &order.GetShippingOrderListRequest{
		PayTimeRange: &order.TimeRange{BeginTime: begin.Unix(), EndTime: end.Unix() - 1},
		LastIndex:    lastIndex,
		PageSize:     size,
	}
}

// readOrders reads WeChat-Pay orders by pay time, oldest window first, from
// the checkpoint (or now − backfill) to now − lag, in windows of k.window.
// Inside a window it pages with last_index while has_more; a checkpoint
// follows each finished window (a last_index is only good for the query
// that made it, so a window is re-read whole after a failure). Orders come
// in the API's order within a window; the stream is sorted by window.
func (k *Connector) readOrders(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	end := k.host.Now().Add(-k.lag).Truncate(time.Second)
	begin := end.Add(-k.backfill)
	if req.Checkpoint != nil {
		cp, err := parseCursor(req.Checkpoint)
		if err != nil {
			return err
		}
		begin = time.Unix(cp.PaidBefore, 0)
	}
	if !begin.Before(end) {
		return nil
	}
	total := int64((end.Sub(begin) + k.window - 1) / k.window)
	var done int64
	for wb := begin; wb.Before(end); {
		we := wb.Add(k.window)
		if we.After(end) {
			we = end
		}
		if err := k.readWindow(ctx, wb, we, out); err != nil {
			return err
		}
		cp, _ := json.Marshal(cursor{PaidBefore: we.Unix()})
		if err := out.Checkpoint(ctx, cp); err != nil {
			return err
		}
		done++
		if err := out.Progress(ctx, done, total); err != nil {
			return err
		}
		wb = we
	}
	return nil
}

// maxPagesPerWindow guards against a last_index that never ends.
const maxPagesPerWindow = 100_000

func (k *Connector) readWindow(ctx context.Context, begin, end time.Time, out sdk.Emitter) error {
	seen := map[string]bool{}
	last := ""
	for page := 0; ; page++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if page >= maxPagesPerWindow {
			return sdk.UnavailableError(nil, "get_order_list: more than %d pages in one window; lower `window`", maxPagesPerWindow)
		}
		res, err := k.c.orderList(ctx, listRequest(begin, end, last, k.pageSize))
		if err != nil {
			return err
		}
		for _, so := range res.OrderList {
			if so == nil {
				continue
			}
			rec := k.listedOrder(so)
			if seen[rec.ID] {
				continue
			}
			seen[rec.ID] = true
			if err := out.Emit(ctx, rec); err != nil {
				return err
			}
		}
		if !res.HasMore {
			return nil
		}
		if res.LastIndex == "" || res.LastIndex == last {
			return sdk.UnavailableError(nil, "get_order_list: has_more without a new last_index")
		}
		last = res.LastIndex
	}
}

// shippingStates maps get_order_list order_state to canonical statuses:
// 1 待发货 paid, 2 已发货 shipped, 3 确认收货 and 4 交易完成 completed,
// 5 已退款 refunded.
var shippingStates = [...]mapping.OrderStatus{1: mapping.OrderPaid, 2: mapping.OrderShipped, 3: mapping.OrderCompleted, 4: mapping.OrderCompleted, 5: mapping.OrderRefunded}

func shippingStatus(s order.State) mapping.OrderStatus {
	if int(s) < len(shippingStates) {
		return shippingStates[s]
	}
	return mapping.OrderUnknown
}

// listedOrder maps a get_order_list order. It is keyed by merchant_trade_no
// (the brand's out_trade_no; the transaction id when absent), carries the
// paid amount and the payer's openid but no lines, and is dated by the last
// thing the list knows about it (payment or the latest shipping upload), so
// a later event from the brand's backend about the same order wins.
func (k *Connector) listedOrder(so *order.ShippingOrder) sdk.Record {
	id := so.MerchantTradeNo
	if id == "" {
		id = so.TransactionID
	}
	paid := unix(so.PayTime)
	updated := paid
	if so.Shipping != nil {
		for _, s := range so.Shipping.ShippingList {
			if s != nil && unix(s.UploadTime).After(updated) {
				updated = unix(s.UploadTime)
			}
		}
	}
	o := &mapping.Order{
		Platform: Platform, Shop: k.appID, OrderID: id,
		Status: shippingStatus(so.OrderState), PlatformStatus: "order_state:" + strconv.Itoa(int(so.OrderState)),
		TotalFen: mapping.Fen(so.PaidAmount), PaidFen: mapping.Fen(so.PaidAmount),
		CreatedAt: unix(so.TradeCreateTime), PaidAt: paid, UpdatedAt: updated,
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = paid
	}
	if so.Openid != "" {
		o.Buyer = []mapping.Identity{{Type: mapping.IDMiniprogramOpenID, Scope: k.appID, Value: so.Openid}}
	}
	return sdk.Record{Stream: StreamOrders, ID: id, UpdatedAt: updated, Order: o}
}

func unix(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}
