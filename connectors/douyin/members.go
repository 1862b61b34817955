package douyin

import (
	"context"
	"slices"
	"strconv"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// unionLookupMax is how many open ids one union id lookup carries.
const unionLookupMax = 100

// memberRow is one action turned into a member.batchUpdate row.
type memberRow struct {
	idx int
	upd doudian.MemberUpdate
}

// Write applies member.level, points.set and member.erase through
// member.batchUpdate, at most five members a call. Each sets an absolute
// state (a level, a balance, no membership), so an action applied twice
// with one key leaves the platform as applying it once does; a key
// repeated within one batch is sent once and reported as a duplicate. A call
// that fails for one row is retried row by row so that each action gets its
// own result. Rows need the member's union_id (brand members must be updated
// by it); when the target has none, it is looked up from the open_id.
func (k *Connector) Write(ctx context.Context, actions []sdk.Action) []sdk.ActionResult {
	results := make([]sdk.ActionResult, len(actions))
	dupOf := map[int]int{}
	firstByKey := map[string]int{}
	var rows []memberRow
	var missing []string // open ids without a union id in the target
	for i, a := range actions {
		results[i] = sdk.ActionResult{Key: a.Key}
		if j, ok := firstByKey[a.Key]; ok && a.Key != "" {
			dupOf[i] = j
			continue
		}
		firstByKey[a.Key] = i
		upd, err := k.memberUpdate(a)
		if err != nil {
			results[i].Status, results[i].Err = sdk.StatusFailed, err
			continue
		}
		if upd.Unbind != nil {
			// Only a current member can be unbound, and only the lookup
			// says who is one: never trust the union id on record here.
			upd.UnionID = ""
		}
		if upd.UnionID == "" && !slices.Contains(missing, upd.OpenID) {
			missing = append(missing, upd.OpenID)
		}
		rows = append(rows, memberRow{idx: i, upd: upd})
	}
	rows = k.fillUnionIDs(ctx, rows, missing, results)
	for _, chunk := range chunkRows(rows) {
		err := k.sendRows(ctx, chunk)
		if err != nil && len(chunk) > 1 && sdk.ClassOf(err) == sdk.ClassPermanent {
			for _, r := range chunk {
				settle(results, []memberRow{r}, k.sendRows(ctx, []memberRow{r}))
			}
			continue
		}
		settle(results, chunk, err)
	}
	for i, j := range dupOf {
		results[i].Status, results[i].Err = results[j].Status, results[j].Err
		if results[j].Status == sdk.StatusApplied {
			results[i].Status = sdk.StatusDuplicate
		}
	}
	return results
}

// memberUpdate validates an action and builds its row (union id may be
// empty).
func (k *Connector) memberUpdate(a sdk.Action) (doudian.MemberUpdate, error) {
	if k.memberAppID == 0 {
		return doudian.MemberUpdate{}, sdk.ConfigError(FieldMemberAppID, "set member_app_id (会员通) to write %s", a.Type)
	}
	var upd doudian.MemberUpdate
	for _, id := range a.Target {
		switch {
		case id.Type == mapping.IDDouyinOpenID && id.Scope == k.shop:
			upd.OpenID = id.Value
		case id.Type == mapping.IDDouyinUnionID && id.Scope == k.brand:
			upd.UnionID = id.Value
		}
	}
	if upd.OpenID == "" {
		return upd, sdk.PermanentError("", "%s: the member has no douyin_open_id of shop %s", a.Type, k.shop)
	}
	switch a.Type {
	case ActionMemberLevel:
		n, err := strconv.ParseInt(a.Params[ParamLevel], 10, 64)
		if err != nil || n < 0 {
			return upd, sdk.PermanentError("", "%s: param %s %q is not a whole number ≥ 0", a.Type, ParamLevel, a.Params[ParamLevel])
		}
		upd.Level = &n
	case ActionPointsSet:
		// pointCent is points×100 with two decimals allowed: the same exact
		// decimal arithmetic as yuan to fen.
		cents, err := mapping.ParseYuan(a.Params[ParamPoints])
		if err != nil {
			return upd, sdk.PermanentError("", "%s: param %s %q is not a number with at most two decimals", a.Type, ParamPoints, a.Params[ParamPoints])
		}
		c := int64(cents)
		upd.PointCent = &c
	case ActionMemberErase:
		unbind := true
		upd.Unbind = &unbind
	default:
		return upd, sdk.PermanentError("", "douyin cannot %q (actions: %s, %s, %s)", a.Type, ActionMemberLevel, ActionPointsSet, ActionMemberErase)
	}
	return upd, nil
}

// fillUnionIDs looks up the union ids the targets lacked and returns the
// rows that have one; the others fail (not a shop member, or the lookup
// failed).
func (k *Connector) fillUnionIDs(ctx context.Context, rows []memberRow, missing []string, results []sdk.ActionResult) []memberRow {
	if len(missing) == 0 {
		return rows
	}
	found := map[string]string{}
	failed := map[string]error{}
	for start := 0; start < len(missing); start += unionLookupMax {
		part := missing[start:min(start+unionLookupMax, len(missing))]
		got, err := k.c.unionIDs(ctx, k.memberAppID, part)
		for _, id := range part {
			if err != nil {
				failed[id] = err
			} else if u := got[id]; u != "" {
				found[id] = u
			}
		}
	}
	kept := rows[:0]
	for _, r := range rows {
		if r.upd.UnionID == "" {
			r.upd.UnionID = found[r.upd.OpenID]
		}
		switch err := failed[r.upd.OpenID]; {
		case r.upd.UnionID != "":
			kept = append(kept, r)
		case err != nil:
			results[r.idx].Status, results[r.idx].Err = sdk.StatusFailed, err
		case r.upd.Unbind != nil:
			results[r.idx].Status = sdk.StatusApplied // not a member: nothing to end
		default:
			results[r.idx].Status, results[r.idx].Err = sdk.StatusFailed, sdk.PermanentError("", "the buyer is not a member of shop %s (no union_id)", k.shop)
		}
	}
	return kept
}

// chunkRows groups rows into member.batchUpdate calls of at most
// doudian.MaxMemberBatch, one row per member a call, keeping the actions'
// order (a later change of a member goes in a later call).
func chunkRows(rows []memberRow) [][]memberRow {
	var out [][]memberRow
	var cur []memberRow
	in := map[string]bool{}
	for _, r := range rows {
		if len(cur) == doudian.MaxMemberBatch || in[r.upd.OpenID] {
			out = append(out, cur)
			cur, in = nil, map[string]bool{}
		}
		cur = append(cur, r)
		in[r.upd.OpenID] = true
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func (k *Connector) sendRows(ctx context.Context, rows []memberRow) error {
	req := doudian.MemberBatchUpdateRequest{AppID: k.memberAppID, Members: make([]doudian.MemberUpdate, len(rows))}
	for i, r := range rows {
		req.Members[i] = r.upd
	}
	return k.c.memberUpdate(ctx, req)
}

func settle(results []sdk.ActionResult, rows []memberRow, err error) {
	for _, r := range rows {
		if err != nil {
			results[r.idx].Status, results[r.idx].Err = sdk.StatusFailed, err
		} else {
			results[r.idx].Status = sdk.StatusApplied
		}
	}
}
