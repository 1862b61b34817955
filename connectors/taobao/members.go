package taobao

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// memberCursor is the members checkpoint: every member modified at or before
// Through (a whole second) has been emitted.
type memberCursor struct {
	Through time.Time `json:"through"`
}

// readMembers reads the shop's CRM members. Without a checkpoint it pages
// taobao.crm.members.get (at most 1000 pages); with one it pages
// taobao.crm.members.increment.get for members modified after it. The read
// checkpoints once, at its end (the list APIs give no order to resume in),
// on readEnd.
func (k *Connector) readMembers(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	var cp *memberCursor
	if len(req.Checkpoint) > 0 {
		cp = &memberCursor{}
		if err := json.Unmarshal(req.Checkpoint, cp); err != nil || cp.Through.IsZero() {
			return sdk.PermanentError("", "members checkpoint is unreadable: reset the stream")
		}
	}
	end := readEnd(k.c.now(), k.lag)
	method := top.MethodCRMMembersGet
	params := func(page int) map[string]string { return top.MembersGetParams(page, k.memberPageSize) }
	if cp != nil {
		if !end.After(cp.Through) {
			return out.Checkpoint(ctx, req.Checkpoint)
		}
		method = top.MethodCRMMembersIncrementGet
		params = func(page int) map[string]string {
			return top.MembersIncrementParams(cp.Through.Add(time.Second), end, page, k.memberPageSize)
		}
	}
	seen := map[string]bool{}
	var done int64
	for page := 1; page <= top.MaxCRMPage; page++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var res top.MembersResult
		if err := k.c.call(ctx, method, params(page), &res); err != nil {
			return err
		}
		for i := range res.Members {
			m := &res.Members[i]
			if m.OUID != "" && seen[m.OUID] {
				continue
			}
			seen[m.OUID] = true
			if err := out.Emit(ctx, k.memberRecord(m, end, fmt.Sprintf("%s page %d", method, page))); err != nil {
				return err
			}
		}
		done += int64(len(res.Members))
		if err := out.Progress(ctx, done, res.TotalResult); err != nil {
			return err
		}
		if len(res.Members) < k.memberPageSize || int64(page*k.memberPageSize) >= res.TotalResult {
			break
		}
		if page == top.MaxCRMPage {
			k.host.Log().Warn().Int64("total", res.TotalResult).Msg("taobao.crm.members pages stop at 1000: the rest of the members cannot be listed by this API")
		}
	}
	return out.Checkpoint(ctx, marshalCursor(memberCursor{Through: end}))
}

// memberRecord maps a CRM member. Identities: taobao_ouid (scope shop), and
// taobao_buyer_open_uid (scope app_key) and taobao_omid (scope brand) when
// the answer carries them. The masked nick is never used.
func (k *Connector) memberRecord(b *top.BasicMember, at time.Time, where string) sdk.Record {
	bad := func(reason string) sdk.Record {
		raw, _ := json.Marshal(b)
		return sdk.Record{Stream: StreamMembers, ID: b.OUID, Bad: &sdk.BadRecord{Reason: reason, Raw: raw, Location: where}}
	}
	if b.OUID == "" {
		return bad("member without ouid")
	}
	amount, err := yuan("trade_amount", b.TradeAmount)
	if err != nil {
		return bad(err.Error())
	}
	last, err := platformTime("last_trade_time", b.LastTradeTime)
	if err != nil {
		return bad(err.Error())
	}
	m := &mapping.Member{
		Identities: []mapping.Identity{{Type: mapping.IDTaobaoOUID, Scope: k.shop, Value: b.OUID}},
		Level:      b.GradeName,
		Subscribed: b.Status != "blacklist",
		Attributes: map[string]string{
			"grade":            strconv.FormatInt(b.Grade, 10),
			"trade_count":      strconv.FormatInt(b.TradeCount, 10),
			"trade_amount_fen": strconv.FormatInt(int64(amount), 10),
		},
	}
	if m.Level == "" && b.Grade > 0 {
		m.Level = strconv.FormatInt(b.Grade, 10)
	}
	if !last.IsZero() {
		m.Attributes["last_trade_time"] = last.Format(time.RFC3339)
	}
	if b.Status != "" {
		m.Attributes["status"] = b.Status
	}
	if b.RelationSource != 0 {
		m.Attributes["relation_source"] = strconv.FormatInt(b.RelationSource, 10)
	}
	if b.OpenUID != "" {
		m.Identities = append(m.Identities, mapping.Identity{Type: mapping.IDTaobaoBuyerOpenUID, Scope: k.appKey, Value: b.OpenUID})
	}
	if b.OMID != "" && k.brand != "" {
		m.Identities = append(m.Identities, mapping.Identity{Type: mapping.IDTaobaoOMID, Scope: k.brand, Value: b.OMID})
	}
	return sdk.Record{Stream: StreamMembers, ID: b.OUID, UpdatedAt: at, Member: m}
}
