package taobao

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// tmcBatchesPerRead bounds one read: after this many consume calls the read
// ends, so the ids waiting for their confirm stay few.
const tmcBatchesPerRead = 10

// tmcCursor is the tmc checkpoint: the messages emitted since the last
// confirm. A checkpoint is committed by the hub together with the records
// before it, so the next read confirms these ids first; until then the
// platform may deliver them again, and they are then confirmed, not emitted
// again.
type tmcCursor struct {
	Pending []int64 `json:"pending"`
}

// readTMC pulls TMC messages: confirm what the last committed checkpoint
// holds, then consume up to tmcBatchesPerRead batches. Trade and refund
// messages are thin: each trade is fetched with taobao.trade.fullinfo.get
// and emitted (once per batch). tmall_mei_PointChange messages become points
// ledger entries. Other topics are confirmed and dropped. A message is never
// confirmed before a checkpoint carrying it was emitted after its records.
func (k *Connector) readTMC(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	var cp tmcCursor
	if len(req.Checkpoint) > 0 {
		if err := json.Unmarshal(req.Checkpoint, &cp); err != nil {
			return sdk.PermanentError("", "tmc checkpoint is unreadable: reset the stream")
		}
	}
	if err := k.confirm(ctx, cp.Pending); err != nil {
		return err
	}
	emitted := map[int64]bool{}
	for _, id := range cp.Pending {
		emitted[id] = true
	}
	var pending []int64
	for range tmcBatchesPerRead {
		var res top.ConsumeResult
		if err := k.c.appCall(ctx, top.MethodTMCMessagesConsume, top.ConsumeParams(k.tmcGroup, k.tmcQuantity), &res); err != nil {
			return err
		}
		if len(res.Messages) == 0 {
			break
		}
		fetched := map[string]bool{}
		for i := range res.Messages {
			m := &res.Messages[i]
			if !emitted[m.ID] {
				if err := k.tmcMessage(ctx, out, m, fetched); err != nil {
					return err
				}
				emitted[m.ID] = true
			}
			pending = append(pending, m.ID)
		}
		if err := out.Checkpoint(ctx, marshalCursor(tmcCursor{Pending: pending})); err != nil {
			return err
		}
	}
	if len(pending) == 0 {
		return out.Checkpoint(ctx, marshalCursor(tmcCursor{Pending: []int64{}}))
	}
	return nil
}

// confirm confirms ids, top.MaxConfirmIDs a call.
func (k *Connector) confirm(ctx context.Context, ids []int64) error {
	for start := 0; start < len(ids); start += top.MaxConfirmIDs {
		part := ids[start:min(start+top.MaxConfirmIDs, len(ids))]
		var res top.ConfirmResult
		if err := k.c.appCall(ctx, top.MethodTMCMessagesConfirm, top.ConfirmParams(k.tmcGroup, part), &res); err != nil {
			return err
		}
	}
	return nil
}

// tmcMessage emits what one message carries. fetched holds the trades this
// batch fetched already.
func (k *Connector) tmcMessage(ctx context.Context, out sdk.Emitter, m *top.Message, fetched map[string]bool) error {
	where := "tmc message " + m.IDString() + " " + m.Topic
	switch {
	case strings.HasPrefix(m.Topic, top.TopicPrefixTrade) || strings.HasPrefix(m.Topic, top.TopicPrefixRefund):
		var c top.TradeContent
		if err := top.ParseContent(m, &c); err != nil || c.Tid == "" {
			return out.Emit(ctx, sdk.Record{Stream: StreamTMC, ID: "msg:" + m.IDString(), Bad: &sdk.BadRecord{Reason: "trade message without a readable tid", Raw: []byte(m.Content), Location: where}})
		}
		tid := c.Tid.String()
		if fetched[tid] {
			return nil
		}
		fetched[tid] = true
		var res top.FullinfoResult
		err := k.c.call(ctx, top.MethodTradeFullinfoGet, top.FullinfoParams(tid, ""), &res)
		switch {
		case err != nil && sdk.ClassOf(err) == sdk.ClassPermanent:
			// The trade cannot be read (gone, another shop): redelivery will not help.
			return out.Emit(ctx, sdk.Record{Stream: StreamTMC, ID: tid, Bad: &sdk.BadRecord{Reason: err.Error(), Raw: []byte(m.Content), Location: where}})
		case err != nil:
			return err
		case res.Trade == nil:
			return sdk.UnavailableError(nil, "%s %s: answer without trade", top.MethodTradeFullinfoGet, tid)
		}
		return out.Emit(ctx, k.tradeRecord(StreamTMC, res.Trade, where))
	case m.Topic == top.TopicPointChange:
		return out.Emit(ctx, k.pointRecord(m, where))
	}
	return nil
}

// pointRecord maps a tmall_mei_PointChange message to a points ledger entry
// for the member's taobao_omid (scope brand), or taobao_ouid (scope shop)
// when there is no omid or no brand configured.
func (k *Connector) pointRecord(m *top.Message, where string) sdk.Record {
	var c top.PointChangeContent
	err := top.ParseContent(m, &c)
	delta, derr := c.Point.Int64()
	if err != nil || derr != nil || c.RecordID == "" || (c.OMID == "" && c.OUID == "") {
		return sdk.Record{Stream: StreamTMC, ID: "msg:" + m.IDString(), Bad: &sdk.BadRecord{Reason: "point change without record_id, member or whole point", Raw: []byte(m.Content), Location: where}}
	}
	who := mapping.Identity{Type: mapping.IDTaobaoOUID, Scope: k.shop, Value: c.OUID}
	if c.OMID != "" && k.brand != "" {
		who = mapping.Identity{Type: mapping.IDTaobaoOMID, Scope: k.brand, Value: c.OMID}
	}
	at, _ := top.ParseTime(c.GmtCreate)
	if at.IsZero() {
		at, _ = top.ParseTime(m.PubTime)
	}
	if at.IsZero() {
		at = k.c.now().UTC().Truncate(time.Second)
	}
	kind := mapping.PointsEarn
	if delta < 0 {
		kind = mapping.PointsRedeem
	}
	reason := c.BizType
	if c.BizDetail != "" {
		reason = strings.TrimSpace(reason + " " + c.BizDetail)
	}
	e := &mapping.PointsEntry{EntryID: "tmall_mei:" + c.RecordID, Member: who, Kind: kind, Delta: delta, Reason: reason, OccurredAt: at}
	return sdk.Record{Stream: StreamTMC, ID: "points:" + c.RecordID, UpdatedAt: at, Points: e}
}
