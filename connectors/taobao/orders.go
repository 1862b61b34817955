package taobao

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/sdk"
)

// backfillSpan is the created-time span of one taobao.trades.sold.get
// window during a backfill; the read checkpoints after each.
const backfillSpan = 7 * 24 * time.Hour

// horizonMargin keeps the backfill's first window inside the platform's
// three months.
const horizonMargin = 10 * time.Minute

// orderCursor is the orders checkpoint. During a backfill, Backfill is set:
// every trade created at or before Backfill.Created has been emitted, and the
// backfill ends at Backfill.Until. After it, Through says every trade
// modified at or before it (a whole second) has been emitted.
type orderCursor struct {
	Through  time.Time      `json:"through,omitzero"`
	Backfill *backfillState `json:"backfill,omitempty"`
}

type backfillState struct {
	Until   time.Time `json:"until"`
	Created time.Time `json:"created"`
}

func parseOrderCursor(b []byte) (*orderCursor, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var c orderCursor
	if err := json.Unmarshal(b, &c); err != nil || (c.Through.IsZero() && c.Backfill == nil) {
		if err == nil {
			err = fmt.Errorf("neither through nor backfill")
		}
		return nil, sdk.PermanentError("", "orders checkpoint is unreadable (%v): reset the stream", err)
	}
	return &c, nil
}

func marshalCursor(c any) []byte {
	b, _ := json.Marshal(c)
	return b
}

// readEnd is the last second a read started at now covers: the last whole
// second that has fully elapsed before now − lag. The bookmark never passes
// it.
func readEnd(now time.Time, lag time.Duration) time.Time {
	return now.Add(-lag).UTC().Truncate(time.Second).Add(-time.Second)
}

// readOrders backfills (no checkpoint, or one inside a backfill) and then
// reads increments up to readEnd.
func (k *Connector) readOrders(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	cp, err := parseOrderCursor(req.Checkpoint)
	if err != nil {
		return err
	}
	now := k.c.now()
	end := readEnd(now, k.lag)
	if cp == nil {
		horizon := now.Add(-top.History + horizonMargin).UTC().Truncate(time.Second)
		cp = &orderCursor{Backfill: &backfillState{Until: end, Created: horizon.Add(-time.Second)}}
	}
	if cp.Backfill != nil {
		if err := k.backfill(ctx, out, cp.Backfill); err != nil {
			return err
		}
		cp = &orderCursor{Through: cp.Backfill.Until}
		if err := out.Checkpoint(ctx, marshalCursor(cp)); err != nil {
			return err
		}
	}
	return k.increments(ctx, out, cp.Through, end)
}

// backfill reads trades created after b.Created up to b.Until by
// taobao.trades.sold.get, one backfillSpan window at a time, checkpointing
// after each window. Windows are bounded in the past, so nothing enters or
// leaves them while they are paged.
func (k *Connector) backfill(ctx context.Context, out sdk.Emitter, b *backfillState) error {
	for b.Created.Before(b.Until) {
		lo := b.Created.Add(time.Second)
		hi := minTime(lo.Add(backfillSpan-time.Second), b.Until)
		if err := k.backfillWindow(ctx, out, lo, hi); err != nil {
			return err
		}
		b.Created = hi
		if err := out.Checkpoint(ctx, marshalCursor(orderCursor{Backfill: b})); err != nil {
			return err
		}
	}
	return nil
}

// backfillWindow emits the trades created in [lo, hi]. end_created is sent
// as hi + 1 s and later trades are dropped, so the window is right whether
// the platform's end bound is inclusive or not.
func (k *Connector) backfillWindow(ctx context.Context, out sdk.Emitter, lo, hi time.Time) error {
	seen := map[string]bool{}
	for page := 1; ; page++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var res top.TradesResult
		req := top.SoldGet{StartCreated: lo, EndCreated: hi.Add(time.Second), PageNo: page, PageSize: k.pageSize}
		if err := k.c.call(ctx, top.MethodTradesSoldGet, req.Params(), &res); err != nil {
			return err
		}
		where := fmt.Sprintf("%s created %s page %d", top.MethodTradesSoldGet, top.FormatTime(lo), page)
		if err := k.emitTrades(ctx, out, res.Trades, seen, where, func(t *top.Trade) bool {
			c, err := top.ParseTime(t.Created)
			return err != nil || (!c.Before(lo) && !c.After(hi))
		}); err != nil {
			return err
		}
		if len(res.Trades) < k.pageSize || int64(page*k.pageSize) >= res.TotalResults {
			return nil
		}
	}
}

// increments reads trades modified in (through, end] by
// taobao.trades.sold.increment.get in windows of k.window, checkpointing at
// each window's end: a whole second, so never inside a run of equal modified
// times.
func (k *Connector) increments(ctx context.Context, out sdk.Emitter, through, end time.Time) error {
	if !end.After(through) {
		return out.Checkpoint(ctx, marshalCursor(orderCursor{Through: through}))
	}
	for through.Before(end) {
		lo := through.Add(time.Second)
		hi := minTime(lo.Add(k.window-time.Second), end)
		if err := k.incrementWindow(ctx, out, lo, hi); err != nil {
			return err
		}
		through = hi
		if err := out.Checkpoint(ctx, marshalCursor(orderCursor{Through: through})); err != nil {
			return err
		}
	}
	return nil
}

// incrementWindow emits the trades modified in [lo, hi] (end_modified sent
// as hi + 1 s, later trades dropped). The list is sorted by modified
// descending; it is paged from the last page backwards, as the platform
// advises: a trade modified while the window is paged leaves it (its new
// modified time is after hi) and the rows behind it move towards page 1,
// into pages not read yet — so nothing is skipped, and a row seen twice is
// emitted once. Page 1 is read again last for that reason.
func (k *Connector) incrementWindow(ctx context.Context, out sdk.Emitter, lo, hi time.Time) error {
	seen := map[string]bool{}
	inWindow := func(t *top.Trade) bool {
		m, err := top.ParseTime(t.Modified)
		return err != nil || (!m.Before(lo) && !m.After(hi))
	}
	get := func(page int) (*top.TradesResult, error) {
		var res top.TradesResult
		req := top.IncrementGet{StartModified: lo, EndModified: hi.Add(time.Second), PageNo: page, PageSize: k.pageSize}
		if err := k.c.call(ctx, top.MethodTradesSoldIncrementGet, req.Params(), &res); err != nil {
			return nil, err
		}
		return &res, nil
	}
	first, err := get(1)
	if err != nil {
		return err
	}
	last := top.LastPage(first.TotalResults, k.pageSize)
	where := func(p int) string {
		return fmt.Sprintf("%s modified %s page %d", top.MethodTradesSoldIncrementGet, top.FormatTime(lo), p)
	}
	if last == 1 {
		return k.emitTrades(ctx, out, first.Trades, seen, where(1), inWindow)
	}
	for page := last; page >= 1; page-- {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := get(page)
		if err != nil {
			return err
		}
		if err := k.emitTrades(ctx, out, res.Trades, seen, where(page), inWindow); err != nil {
			return err
		}
	}
	return nil
}

// emitTrades maps and emits the trades keep accepts and seen does not hold.
func (k *Connector) emitTrades(ctx context.Context, out sdk.Emitter, trades []top.Trade, seen map[string]bool, where string, keep func(*top.Trade) bool) error {
	for i := range trades {
		t := &trades[i]
		if !keep(t) || seen[t.ID()] {
			continue
		}
		seen[t.ID()] = true
		if err := out.Emit(ctx, k.tradeRecord(StreamOrders, t, where)); err != nil {
			return err
		}
	}
	return nil
}

// tradeRecord maps one trade: the canonical order, or a bad record with the
// reason and the payload.
func (k *Connector) tradeRecord(stream string, t *top.Trade, where string) sdk.Record {
	m, err := mapTrade(t, k.shop, k.appKey)
	if err != nil {
		raw, _ := json.Marshal(t)
		return sdk.Record{Stream: stream, ID: t.ID(), Bad: &sdk.BadRecord{Reason: err.Error(), Raw: raw, Location: where}}
	}
	return sdk.Record{Stream: stream, ID: m.OrderID, UpdatedAt: m.UpdatedAt, Order: m}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
