package sandbox_test

import (
	"testing"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
)

// split returns an active member and a buyer who is not a member.
func split(t *testing.T, s *sandbox.Server) (member, other sandbox.Member) {
	t.Helper()
	var haveM, haveO bool
	for _, b := range s.Buyers() {
		switch {
		case b.Active && !haveM:
			member, haveM = b, true
		case !b.Active && !haveO:
			other, haveO = b, true
		}
	}
	if !haveM || !haveO {
		t.Fatal("need a member and a non-member")
	}
	return member, other
}

func TestMemberUnionIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	app := e.s.Config().MemberAppID
	m, o := split(t, e.s)
	got, err := e.c.MemberBatchGetUnionIDByOpenIDList(t.Context(), e.tok, app, []string{m.OpenID, o.OpenID, "unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[m.OpenID] != m.UnionID {
		t.Fatalf("union ids = %v, want only %s → %s", got, m.OpenID, m.UnionID)
	}
	_, err = e.c.MemberBatchGetUnionIDByOpenIDList(t.Context(), e.tok, app+1, []string{m.OpenID})
	if ae := apiErr(t, err); ae.SubCode != doudian.SubMemberShopMissing {
		t.Fatalf("wrong app_id: %+v", ae)
	}
}

func TestMemberBatchUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{})
	app := e.s.Config().MemberAppID
	m, o := split(t, e.s)
	err := e.c.MemberBatchUpdate(t.Context(), e.tok, doudian.MemberBatchUpdateRequest{AppID: app, Members: []doudian.MemberUpdate{
		{OpenID: m.OpenID, UnionID: m.UnionID, Level: new(int64(4)), PointCent: new(int64(123456))},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := e.s.Member(m.OpenID)
	if got.Level != 4 || got.PointCent != 123456 || !got.Active {
		t.Fatalf("after update: %+v", got)
	}
	// Legacy integral is whole points.
	if err := e.c.MemberBatchUpdate(t.Context(), e.tok, doudian.MemberBatchUpdateRequest{AppID: app, Members: []doudian.MemberUpdate{{OpenID: m.OpenID, UnionID: m.UnionID, Integral: new(int64(7))}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.Member(m.OpenID); got.PointCent != 700 {
		t.Fatalf("integral 7 gave pointCent %d", got.PointCent)
	}

	tests := []struct {
		name string
		rows []doudian.MemberUpdate
		app  int64
		code int
		sub  string
	}{
		{"brand member without union_id", []doudian.MemberUpdate{{OpenID: m.OpenID, Level: new(int64(2))}}, app, doudian.CodeBusinessFailed, doudian.SubMemberNeedsUnionID},
		{"union_id of someone else", []doudian.MemberUpdate{{OpenID: m.OpenID, UnionID: o.UnionID}}, app, doudian.CodeInvalidBizParam, doudian.SubMemberOpenIDInvalid},
		{"not a member", []doudian.MemberUpdate{{OpenID: o.OpenID, UnionID: o.UnionID, Level: new(int64(2))}}, app, doudian.CodeInvalidBizParam, doudian.SubMemberOpenIDInvalid},
		{"unknown open_id", []doudian.MemberUpdate{{OpenID: "nobody", UnionID: "x"}}, app, doudian.CodeInvalidBizParam, doudian.SubMemberOpenIDInvalid},
		{"wrong app_id", []doudian.MemberUpdate{{OpenID: m.OpenID, UnionID: m.UnionID}}, app + 1, doudian.CodeInvalidBizParam, doudian.SubMemberBadParam},
		{"six rows", make([]doudian.MemberUpdate, 6), app, doudian.CodeInvalidBizParam, doudian.SubParamInvalid},
		{"one bad row spoils the batch", []doudian.MemberUpdate{{OpenID: m.OpenID, UnionID: m.UnionID, Level: new(int64(1))}, {OpenID: "nobody", UnionID: "x"}}, app, doudian.CodeInvalidBizParam, doudian.SubMemberOpenIDInvalid},
	}
	for _, tt := range tests {
		// Call (not MemberBatchUpdate) so the sandbox, not the client, judges six rows.
		err := e.c.Call(t.Context(), doudian.MethodMemberBatchUpdate, e.tok, doudian.MemberBatchUpdateRequest{AppID: tt.app, Members: tt.rows}, nil)
		if ae := apiErr(t, err); ae.Code != tt.code || ae.SubCode != tt.sub {
			t.Errorf("%s: %+v, want %d %s", tt.name, ae, tt.code, tt.sub)
		}
	}
	if got, _ := e.s.Member(m.OpenID); got.Level != 4 {
		t.Fatalf("a refused batch changed the member: level %d", got.Level)
	}

	if err := e.c.MemberBatchUpdate(t.Context(), e.tok, doudian.MemberBatchUpdateRequest{AppID: app, Members: []doudian.MemberUpdate{{OpenID: m.OpenID, UnionID: m.UnionID, Unbind: new(true)}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.Member(m.OpenID); got.Active {
		t.Fatal("unbind left the member active")
	}
}
