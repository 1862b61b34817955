package taobao

import (
	"context"
	"strconv"
	"strings"

	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// Write applies member.level and points.set through
// tmall.mei.crm.member.sync, one call per action. Both send absolute values,
// so an action applied twice with one key leaves the platform as once; a key
// repeated within one batch is sent once and reported as a duplicate. Each
// call carries a version (the host clock in milliseconds) so a late retry
// does not overwrite a newer value (L: the sheet names the parameter, not
// its rule).
func (k *Connector) Write(ctx context.Context, actions []sdk.Action) []sdk.ActionResult {
	results := make([]sdk.ActionResult, len(actions))
	first := map[string]int{}
	for i, a := range actions {
		results[i] = sdk.ActionResult{Key: a.Key}
		if j, ok := first[a.Key]; ok && a.Key != "" {
			results[i].Status, results[i].Err = results[j].Status, results[j].Err
			if results[j].Status == sdk.StatusApplied {
				results[i].Status = sdk.StatusDuplicate
			}
			continue
		}
		first[a.Key] = i
		req, err := k.memberSync(a)
		if err == nil {
			if err = ctx.Err(); err == nil {
				var res top.FlagResult
				err = k.c.call(ctx, top.MethodMeiMemberSync, req.Params(), &res)
			}
		}
		if err != nil {
			results[i].Status, results[i].Err = sdk.StatusFailed, err
			continue
		}
		results[i].Status = sdk.StatusApplied
	}
	return results
}

// memberSync validates an action and builds its request.
func (k *Connector) memberSync(a sdk.Action) (top.MemberSync, error) {
	req := top.MemberSync{Mobile: a.Params[ParamMobile], MixNick: a.Params[ParamMixNick], Version: k.c.now().UnixMilli()}
	for _, id := range a.Target {
		if id.Type == mapping.IDPhone && req.Mobile == "" {
			req.Mobile = id.Value
		}
	}
	if req.Mobile != "" {
		e164, err := mapping.NormalizePhone(req.Mobile)
		if err != nil || !strings.HasPrefix(e164, "+86") {
			return req, sdk.PermanentError("", "%s: the member's mobile is not a mainland number", a.Type)
		}
		req.Mobile = strings.TrimPrefix(e164, "+86")
	}
	if req.Mobile == "" && req.MixNick == "" {
		return req, sdk.PermanentError("", "%s: 会员通 names members by mobile or mix_nick: give a phone identity in the target, or param %s / %s", a.Type, ParamMobile, ParamMixNick)
	}
	switch a.Type {
	case ActionMemberLevel:
		n, err := strconv.ParseInt(a.Params[ParamLevel], 10, 64)
		if err != nil || n < 0 {
			return req, sdk.PermanentError("", "%s: param %s %q is not a whole number ≥ 0", a.Type, ParamLevel, a.Params[ParamLevel])
		}
		req.Level, req.LevelType = &n, top.LevelTypeGrade
	case ActionPointsSet:
		n, err := strconv.ParseInt(a.Params[ParamPoints], 10, 64)
		if err != nil {
			return req, sdk.PermanentError("", "%s: param %s %q is not a whole number", a.Type, ParamPoints, a.Params[ParamPoints])
		}
		req.Point = &n
	default:
		return req, sdk.PermanentError("", "taobao cannot %q (actions: %s, %s)", a.Type, ActionMemberLevel, ActionPointsSet)
	}
	return req, nil
}
