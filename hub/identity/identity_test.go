package identity_test

import (
	"testing"

	"github.com/channelhub/channelhub/hub/identity"
	"github.com/channelhub/channelhub/mapping"
)

func TestKeyOf(t *testing.T) {
	t.Parallel()
	salt := []byte("s")
	k1, clear, err := identity.KeyOf(salt, mapping.Identity{Type: mapping.IDPhone, Value: "138 0013 8000"})
	if err != nil || clear != "+8613800138000" || k1.Value != mapping.PhoneHash(salt, "+8613800138000") {
		t.Fatalf("phone key = %v %q %v", k1, clear, err)
	}
	k2, _, _ := identity.KeyOf(salt, mapping.Identity{Type: mapping.IDPhone, Value: "+86 138-0013-8000"})
	if k1 != k2 {
		t.Fatal("two forms of one phone gave different keys")
	}
	for _, bad := range []mapping.Identity{
		{Type: mapping.IDWechatOpenID, Scope: "wx1", Value: "null"},
		{Type: mapping.IDWechatOpenID, Scope: "wx1", Value: "undefined"},
		{Type: mapping.IDPhone, Value: "12345"},
		{Type: mapping.IDWechatOpenID, Value: "o1"},
	} {
		if _, _, err := identity.KeyOf(salt, bad); err == nil {
			t.Errorf("KeyOf(%v) accepted", bad)
		}
	}
	a, _, _ := identity.KeyOf(salt, mapping.Identity{Type: mapping.IDWechatOpenID, Scope: "wx1", Value: "o1"})
	b, _, _ := identity.KeyOf(salt, mapping.Identity{Type: mapping.IDWechatOpenID, Scope: "wx2", Value: "o1"})
	if a == b {
		t.Fatal("scoped ids matched across scopes")
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	if _, _, isNew := identity.Decide(nil); !isNew {
		t.Fatal("no owners should mean a new member")
	}
	s, away, isNew := identity.Decide([]identity.Owner{{"m3", 3}, {"m1", 1}, {"m3", 3}, {"m2", 2}})
	if isNew || s.MemberID != "m1" || len(away) != 2 || away[0].MemberID != "m2" || away[1].MemberID != "m3" {
		t.Fatalf("Decide = %v %v %v", s, away, isNew)
	}
}
