package douyin

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/sdk"
)

// checkpointEvery is how many orders a read emits between checkpoints (at
// the next safe boundary), which bounds what a crash re-reads.
const checkpointEvery = 500

// cursor is the orders checkpoint: every order updated at or before Through
// (a whole second) has been emitted. Reads go on from the second after.
type cursor struct {
	Through time.Time `json:"through"`
}

func parseCursor(b []byte) (*cursor, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Through.IsZero() {
		if err == nil {
			err = errNoThrough
		}
		return nil, sdk.PermanentError("", "orders checkpoint is unreadable (%v): reset the stream", err)
	}
	return &c, nil
}

type cursorError string

func (e cursorError) Error() string { return string(e) }

const errNoThrough = cursorError("no through time")

func cursorAt(through int64) []byte {
	b, _ := json.Marshal(cursor{Through: time.Unix(through, 0).UTC()})
	return b
}

// span is the update-time range one read covers, in Unix seconds, both ends
// inclusive.
type span struct{ start, end int64 }

func (s span) empty() bool { return s.start > s.end }

// readSpan is what a read started at now covers: from the second after the
// checkpoint (or, without one, from the platform's 90-day horizon) to now
// minus lag, rounded up to whole seconds — the bookmark never passes that.
// clamped says the checkpoint was older than the horizon: orders updated in
// between can no longer be listed.
func readSpan(now time.Time, lag time.Duration, cp *cursor) (s span, clamped bool) {
	lagSec := int64((lag + time.Second - 1) / time.Second)
	s.end = now.Unix() - lagSec
	horizon := doudian.EarliestStart(now).Unix() + 1
	s.start = horizon
	if cp != nil {
		s.start = cp.Through.Unix() + 1
		if s.start < horizon {
			s.start, clamped = horizon, true
		}
	}
	return s, clamped
}

// keyset pages through orders sorted by update time by restarting each query
// at the last update second seen (page 0) instead of moving an offset: an
// order updated during the read leaves the window, and with offsets the rows
// behind it would slide past the reader unseen. Orders of the restart second
// that were emitted already are skipped.
type keyset struct {
	from    int64           // the next query starts at this second
	through int64           // every order updated at or before it has been emitted
	seen    map[string]bool // ids emitted with update_time == from
}

func newKeyset(start int64) *keyset {
	return &keyset{from: start, through: start - 1, seen: map[string]bool{}}
}

// take returns the orders of a page — sorted by update time, queried from
// k.from — that were not emitted yet, and moves past them. Afterwards every
// order updated before k.from has been emitted.
func (k *keyset) take(page []doudian.ShopOrder) []doudian.ShopOrder {
	var out []doudian.ShopOrder
	for _, o := range page {
		switch u := o.UpdateTime; {
		case u < k.from:
			continue // before the query's start: emitted already
		case u == k.from:
			if k.seen[o.OrderID] {
				continue
			}
			k.seen[o.OrderID] = true
		default:
			k.from, k.seen = u, map[string]bool{o.OrderID: true}
		}
		out = append(out, o)
	}
	k.through = max(k.through, k.from-1)
	return out
}

// finish records that every order updated up to end has been read.
func (k *keyset) finish(end int64) {
	if end < k.from-1 {
		return
	}
	k.through, k.from, k.seen = end, end+1, map[string]bool{}
}

func window(start, end int64) doudian.Window {
	return doudian.Window{Start: time.Unix(start, 0).UTC(), End: time.Unix(end, 0).UTC()}
}

// orderRead is the state of one orders read.
type orderRead struct {
	k       *Connector
	out     sdk.Emitter
	ks      *keyset
	unions  map[string]string // open_id → union_id ("" when not a member), for this read
	done    int64
	total   int64
	sinceCP int
	lastCP  int64
}

// readOrders reads the orders updated in readSpan. Windows whose total is
// over what paging reaches are split (doudian.SplitWindow); within a window
// it pages by keyset. Checkpoints fall only where every order of earlier
// update seconds has been emitted, never inside a run of equal update times.
func (k *Connector) readOrders(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	cp, err := parseCursor(req.Checkpoint)
	if err != nil {
		return err
	}
	sp, clamped := readSpan(k.c.now(), k.lag, cp)
	if clamped {
		k.host.Log().Warn().Time("checkpoint", cp.Through).Msg("orders checkpoint is older than the platform's 90-day horizon: orders updated in between cannot be listed; reading from the horizon")
	}
	if sp.empty() {
		// Nothing can be read yet (run again within lag): end on the same cursor.
		if cp != nil {
			return out.Checkpoint(ctx, req.Checkpoint)
		}
		return nil
	}
	r := &orderRead{k: k, out: out, ks: newKeyset(sp.start), unions: map[string]string{}, lastCP: sp.start - 1}
	queue := []doudian.Window{window(sp.start, sp.end)}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		lo, hi := max(queue[0].Start.Unix(), r.ks.from), queue[0].End.Unix()
		if lo > hi {
			queue = queue[1:]
			continue
		}
		res, err := k.c.searchOrders(ctx, doudian.UpdatedIn(window(lo, hi), 0, k.pageSize))
		if err != nil {
			return err
		}
		if r.total == 0 {
			r.total = res.Total
		}
		if res.Truncated() {
			if parts := doudian.SplitWindow(window(lo, hi), res.Total); len(parts) > 1 {
				queue = append(parts, queue[1:]...)
				continue
			}
		}
		if err := r.emit(ctx, r.ks.take(res.ShopOrderList), lo); err != nil {
			return err
		}
		switch {
		case !res.More():
			r.ks.finish(hi)
			queue = queue[1:]
			if err := r.checkpoint(ctx, r.sinceCP > 0); err != nil {
				return err
			}
			continue
		case r.ks.from == lo:
			// A full page, all updated in second lo: page through that second.
			if err := r.drainSecond(ctx, lo); err != nil {
				return err
			}
		}
		if err := r.checkpoint(ctx, r.sinceCP >= checkpointEvery); err != nil {
			return err
		}
	}
	r.ks.finish(sp.end)
	return r.checkpoint(ctx, true)
}

// drainSecond reads every order updated in second sec by offset paging (a
// one-second window cannot be split further).
func (r *orderRead) drainSecond(ctx context.Context, sec int64) error {
	w := window(sec, sec)
	for page := 0; ; page++ {
		res, err := r.k.c.searchOrders(ctx, doudian.UpdatedIn(w, page, r.k.pageSize))
		if err != nil {
			return err
		}
		if res.Truncated() {
			return sdk.PermanentError("", "%d orders were updated in second %s, more than order.searchList can page to (%d)", res.Total, time.Unix(sec, 0).UTC().Format(time.RFC3339), doudian.MaxReachableRows)
		}
		if err := r.emit(ctx, r.ks.take(res.ShopOrderList), sec); err != nil {
			return err
		}
		if !res.More() {
			r.ks.finish(sec)
			return nil
		}
	}
}

// checkpoint emits the keyset's position when due and when it moved.
func (r *orderRead) checkpoint(ctx context.Context, due bool) error {
	if !due || r.ks.through <= r.lastCP {
		return nil
	}
	if err := r.out.Checkpoint(ctx, cursorAt(r.ks.through)); err != nil {
		return err
	}
	r.lastCP, r.sinceCP = r.ks.through, 0
	return nil
}

// emit maps and emits a page's new orders, with union ids when member_app_id
// is set.
func (r *orderRead) emit(ctx context.Context, orders []doudian.ShopOrder, from int64) error {
	if len(orders) == 0 {
		return nil
	}
	if err := r.k.lookupUnions(ctx, orders, r.unions); err != nil {
		return err
	}
	where := doudian.MethodOrderSearchList + " update_time from " + strconv.FormatInt(from, 10)
	for i := range orders {
		if err := r.out.Emit(ctx, r.k.record(&orders[i], r.unions, where)); err != nil {
			return err
		}
	}
	r.done += int64(len(orders))
	r.sinceCP += len(orders)
	return r.out.Progress(ctx, r.done, r.total)
}

// lookupUnions fills known with the union ids of the orders' buyers not
// looked up yet (member.batchGetUnionIdByOpenIdList, one call). Without
// member_app_id it does nothing.
func (k *Connector) lookupUnions(ctx context.Context, orders []doudian.ShopOrder, known map[string]string) error {
	if k.memberAppID == 0 {
		return nil
	}
	var ask []string
	asked := map[string]bool{}
	for _, o := range orders {
		id := o.DoudianOpenID
		if _, ok := known[id]; ok || id == "" || asked[id] {
			continue
		}
		asked[id] = true
		ask = append(ask, id)
	}
	if len(ask) == 0 {
		return nil
	}
	got, err := k.c.unionIDs(ctx, k.memberAppID, ask)
	if err != nil {
		return err
	}
	for _, id := range ask {
		known[id] = got[id]
	}
	return nil
}

// record maps one order to a record: the canonical order, or a bad record
// with the reason and the platform payload.
func (k *Connector) record(o *doudian.ShopOrder, unions map[string]string, where string) sdk.Record {
	m, err := mapOrder(o, k.shop, k.brand, unions[o.DoudianOpenID])
	if err != nil {
		raw, _ := json.Marshal(o)
		return sdk.Record{Stream: StreamOrders, ID: o.OrderID, Bad: &sdk.BadRecord{Reason: err.Error(), Raw: raw, Location: where}}
	}
	return sdk.Record{Stream: StreamOrders, ID: o.OrderID, UpdatedAt: m.UpdatedAt, Order: m}
}
