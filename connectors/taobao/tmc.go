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
	// Answers are owed to Tmall for the point changes among Pending: it
	// waits to hear each one processed. They are sent, before the confirm,
	// by the next read, when the hub has committed the entries.
	Answers []pointAnswer `json:"answers,omitempty"`
}

// pointAnswer is the tmall.mei.crm.callback.point.change owed for one
// tmall_mei_PointChange message: done, or failed with ErrorCode when the
// change could not be read into a ledger entry.
type pointAnswer struct {
	RecordID  string `json:"record_id"`
	Point     string `json:"point,omitempty"`
	MixMobile string `json:"mix_mobile,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
}

// errorUnreadableChange is the error code answered for a point change the
// connector could not read (it is dead-lettered in the hub).
const errorUnreadableChange = "UNREADABLE_POINT_CHANGE"

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
	if err := k.answer(ctx, cp.Answers); err != nil {
		return err
	}
	if err := k.confirm(ctx, cp.Pending); err != nil {
		return err
	}
	emitted := map[int64]bool{}
	for _, id := range cp.Pending {
		emitted[id] = true
	}
	var pending []int64
	var answers []pointAnswer
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
				if err := k.tmcMessage(ctx, out, m, fetched, &answers); err != nil {
					return err
				}
				emitted[m.ID] = true
			}
			pending = append(pending, m.ID)
		}
		if err := out.Checkpoint(ctx, marshalCursor(tmcCursor{Pending: pending, Answers: answers})); err != nil {
			return err
		}
	}
	if len(pending) == 0 {
		return out.Checkpoint(ctx, marshalCursor(tmcCursor{Pending: []int64{}}))
	}
	return nil
}

// answer tells Tmall the point changes were processed, one call each. An
// answer Tmall refuses for good (the change is unknown or expired there) is
// logged and not sent again; throttling and outages end the read, and the
// next one sends every answer again (at least once: an answer is keyed by
// its record_id).
func (k *Connector) answer(ctx context.Context, answers []pointAnswer) error {
	for _, a := range answers {
		req := top.PointChangeAnswer{RecordID: a.RecordID, Result: top.PointChangeDone, Point: a.Point, MixMobile: a.MixMobile}
		if a.ErrorCode != "" {
			req.Result, req.ErrorCode = top.PointChangeFailed, a.ErrorCode
		}
		var res top.FlagResult
		err := k.c.call(ctx, top.MethodMeiPointChangeCallback, req.Params(), &res)
		if err != nil && sdk.ClassOf(err) == sdk.ClassPermanent {
			k.host.Log().Warn().Str("record_id", a.RecordID).Err(err).Msg("Tmall refused the answer to a point change; it is not sent again")
			continue
		}
		if err != nil {
			return err
		}
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

// tmcMessage emits what one message carries, and adds the answer a point
// change is owed to answers. fetched holds the trades this batch fetched
// already.
func (k *Connector) tmcMessage(ctx context.Context, out sdk.Emitter, m *top.Message, fetched map[string]bool, answers *[]pointAnswer) error {
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
		rec, a := k.pointRecord(m, where)
		if a != nil {
			*answers = append(*answers, *a)
		}
		return out.Emit(ctx, rec)
	}
	return nil
}

// pointRecord maps a tmall_mei_PointChange message to a points ledger entry
// for the member's taobao_omid (scope brand), or taobao_ouid (scope shop)
// when there is no omid or no brand configured, and returns the answer Tmall
// is owed for it: done, or failed for a change that cannot be read (nil
// when it has no record_id to answer).
func (k *Connector) pointRecord(m *top.Message, where string) (sdk.Record, *pointAnswer) {
	var c top.PointChangeContent
	err := top.ParseContent(m, &c)
	delta, derr := c.Point.Int64()
	if err != nil || derr != nil || c.RecordID == "" || (c.OMID == "" && c.OUID == "") {
		bad := sdk.Record{Stream: StreamTMC, ID: "msg:" + m.IDString(), Bad: &sdk.BadRecord{Reason: "point change without record_id, member or whole point", Raw: []byte(m.Content), Location: where}}
		if c.RecordID == "" {
			return bad, nil
		}
		return bad, &pointAnswer{RecordID: c.RecordID, Point: c.Point.String(), MixMobile: c.MixMobile, ErrorCode: errorUnreadableChange}
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
	return sdk.Record{Stream: StreamTMC, ID: "points:" + c.RecordID, UpdatedAt: at, Points: e},
		&pointAnswer{RecordID: c.RecordID, Point: c.Point.String(), MixMobile: c.MixMobile}
}
