package douyin_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/channelhub/channelhub/connectors/douyin"
	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

func members(sb *sandbox.Server, active bool, n int) []sandbox.Member {
	var out []sandbox.Member
	for _, m := range sb.Buyers() {
		if m.Active == active && len(out) < n {
			out = append(out, m)
		}
	}
	return out
}

func target(cfg sandbox.Config, m sandbox.Member, withUnion bool) []mapping.Identity {
	ids := []mapping.Identity{{Type: mapping.IDDouyinOpenID, Scope: shopScope(cfg), Value: m.OpenID}}
	if withUnion {
		ids = append(ids, mapping.Identity{Type: mapping.IDDouyinUnionID, Scope: cfg.Brand, Value: m.UnionID})
	}
	return ids
}

func TestWriteLevelsAndPoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 10, Members: 600})
	c := e.connector(t, nil)
	cfg := e.sb.Config()
	ms := members(e.sb, true, 7)
	outsider := members(e.sb, false, 1)[0]
	var actions []sdk.Action
	for i, m := range ms {
		actions = append(actions, sdk.Action{Key: "lvl-" + strconv.Itoa(i), Type: douyin.ActionMemberLevel,
			Params: map[string]string{douyin.ParamLevel: strconv.Itoa(i + 1)}, Target: target(cfg, m, i%2 == 0)})
	}
	actions = append(actions,
		sdk.Action{Key: "pts-0", Type: douyin.ActionPointsSet, Params: map[string]string{douyin.ParamPoints: "120.5"}, Target: target(cfg, ms[0], false)},
		sdk.Action{Key: "pts-1", Type: douyin.ActionPointsSet, Params: map[string]string{douyin.ParamPoints: "-3"}, Target: target(cfg, ms[1], true)},
		sdk.Action{Key: "lvl-0", Type: douyin.ActionMemberLevel, Params: map[string]string{douyin.ParamLevel: "1"}, Target: target(cfg, ms[0], false)},
		sdk.Action{Key: "bad-level", Type: douyin.ActionMemberLevel, Params: map[string]string{douyin.ParamLevel: "gold"}, Target: target(cfg, ms[2], false)},
		sdk.Action{Key: "bad-points", Type: douyin.ActionPointsSet, Params: map[string]string{douyin.ParamPoints: "1.234"}, Target: target(cfg, ms[2], false)},
		sdk.Action{Key: "bad-type", Type: "tags.add", Target: target(cfg, ms[2], false)},
		sdk.Action{Key: "no-open-id", Type: douyin.ActionMemberLevel, Params: map[string]string{douyin.ParamLevel: "2"}},
		sdk.Action{Key: "not-a-member", Type: douyin.ActionMemberLevel, Params: map[string]string{douyin.ParamLevel: "2"}, Target: target(cfg, outsider, false)},
	)
	res := c.Write(t.Context(), actions)
	if len(res) != len(actions) {
		t.Fatalf("%d results for %d actions", len(res), len(actions))
	}
	want := map[string]sdk.ActionStatus{"pts-0": sdk.StatusApplied, "pts-1": sdk.StatusApplied, "bad-level": sdk.StatusFailed,
		"bad-points": sdk.StatusFailed, "bad-type": sdk.StatusFailed, "no-open-id": sdk.StatusFailed, "not-a-member": sdk.StatusFailed}
	for i, r := range res {
		if r.Key != actions[i].Key {
			t.Fatalf("result %d has key %s, want %s", i, r.Key, actions[i].Key)
		}
		w, ok := want[r.Key]
		switch {
		case i == 9: // lvl-0 again in one batch
			w, ok = sdk.StatusDuplicate, true
		case !ok:
			w = sdk.StatusApplied
		}
		if r.Status != w {
			t.Errorf("%s: %s (%v), want %s", r.Key, r.Status, r.Err, w)
		}
		if r.Status == sdk.StatusFailed && !errors.Is(r.Err, sdk.ErrPermanent) {
			t.Errorf("%s failed with %v, want a permanent error", r.Key, r.Err)
		}
	}
	for i, m := range ms {
		got, _ := e.sb.Member(m.OpenID)
		if got.Level != int64(i+1) {
			t.Errorf("member %d level %d, want %d", i, got.Level, i+1)
		}
	}
	if m, _ := e.sb.Member(ms[0].OpenID); m.PointCent != 12050 {
		t.Errorf("points of member 0: %d cents, want 12050", m.PointCent)
	}
	if m, _ := e.sb.Member(ms[1].OpenID); m.PointCent != -300 {
		t.Errorf("points of member 1: %d cents, want -300", m.PointCent)
	}
}

// TestWriteEraseEndsMembership: member.erase unbinds the buyer from the
// shop's membership; a retry after it was applied, and an erasure of a buyer
// who never joined, count as applied (there is no membership to end), even
// with a stale union id on record.
func TestWriteEraseEndsMembership(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 10, Members: 600})
	c := e.connector(t, nil)
	cfg := e.sb.Config()
	ms := members(e.sb, true, 2)
	outsider := members(e.sb, false, 1)[0]
	active := len(members(e.sb, true, 1<<20))
	erase := func(key string, m sandbox.Member, withUnion bool) sdk.Action {
		return sdk.Action{Key: key, Type: douyin.ActionMemberErase, Target: target(cfg, m, withUnion)}
	}
	first := c.Write(t.Context(), []sdk.Action{erase("e-0", ms[0], true), erase("e-1", ms[1], false), erase("e-out", outsider, false)})
	for _, r := range first {
		if r.Status != sdk.StatusApplied {
			t.Errorf("%s: %s (%v), want applied", r.Key, r.Status, r.Err)
		}
	}
	for _, m := range ms {
		if got, _ := e.sb.Member(m.OpenID); got.Active {
			t.Errorf("member %s still active after member.erase", m.OpenID)
		}
	}
	if n := len(members(e.sb, true, 1<<20)); n != active-2 {
		t.Fatalf("%d members active after erasing 2 of %d", n, active)
	}
	// The hub retries when it did not hear the first answer (crash): the
	// union id on record is stale now, and the buyer is no member.
	again := c.Write(t.Context(), []sdk.Action{erase("e-0", ms[0], true)})
	if again[0].Status != sdk.StatusApplied {
		t.Fatalf("retried erasure: %s (%v), want applied", again[0].Status, again[0].Err)
	}
}

func TestWriteNeedsMemberAppID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 10, Members: 100})
	c := e.connector(t, map[string]any{"member_app_id": nil})
	m := members(e.sb, true, 1)[0]
	res := c.Write(t.Context(), []sdk.Action{{Key: "k", Type: douyin.ActionMemberLevel, Params: map[string]string{douyin.ParamLevel: "2"}, Target: target(e.sb.Config(), m, true)}})
	if res[0].Status != sdk.StatusFailed || !errors.Is(res[0].Err, sdk.ErrInvalidConfig) {
		t.Fatalf("result %+v, want an invalid_config failure", res[0])
	}
	wrong := e.connector(t, map[string]any{"member_app_id": 999})
	res = wrong.Write(t.Context(), []sdk.Action{{Key: "k", Type: douyin.ActionMemberLevel, Params: map[string]string{douyin.ParamLevel: "2"}, Target: target(e.sb.Config(), m, false)}})
	if res[0].Status != sdk.StatusFailed || !errors.Is(res[0].Err, sdk.ErrInvalidConfig) {
		t.Fatalf("wrong member_app_id: %+v, want an invalid_config failure", res[0])
	}
}

func TestWriteThrottledFailsRetryably(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 10, Members: 100})
	c := e.connector(t, nil)
	m := members(e.sb, true, 1)[0]
	if err := e.sb.InjectFault(sandbox.Fault{Method: doudian.MethodMemberBatchUpdate, Kind: sandbox.FaultError, Code: doudian.CodeBusinessFailed, SubCode: doudian.SubMemberTooFrequent}); err != nil {
		t.Fatal(err)
	}
	a := sdk.Action{Key: "k", Type: douyin.ActionMemberLevel, Params: map[string]string{douyin.ParamLevel: "3"}, Target: target(e.sb.Config(), m, true)}
	res := c.Write(t.Context(), []sdk.Action{a})
	if res[0].Status != sdk.StatusFailed || !errors.Is(res[0].Err, sdk.ErrThrottled) {
		t.Fatalf("result %+v, want a throttled failure", res[0])
	}
	if res = c.Write(t.Context(), []sdk.Action{a}); res[0].Status != sdk.StatusApplied {
		t.Fatalf("retry: %+v", res[0])
	}
}
