package sqlite

import (
	"testing"

	"github.com/channelhub/channelhub/hub/identity"
	"github.com/channelhub/channelhub/mapping"
)

// namedRecord reads back what mergeMember and journalLinks write, record
// ids with '/' and ", which " in them included.
func TestNamedRecord(t *testing.T) {
	t.Parallel()
	k := identity.Key{Type: mapping.IDWechatUnionID, Scope: "open1", Value: "u1"}
	for _, tc := range []struct {
		name, detail string
		ref, want    recRef
		ok           bool
	}{
		{"merge", "record mini/members/A1 carries wechat_unionid, which wechat/followers/o/9 also carries",
			recRef{"mini", "members", "A1"}, recRef{"wechat", "followers", "o/9"}, true},
		{"link", "record pos/members/a, which b carries wechat_unionid, which crm/members/x, which y of the member carries",
			recRef{"pos", "members", "a, which b"}, recRef{"crm", "members", "x, which y"}, true},
		{"another record's detail", "record pos/members/A2 carries wechat_unionid, which crm/members/x also carries",
			recRef{"pos", "members", "A1"}, recRef{}, false},
		{"no second record", "every record of m2 now belongs to m1", recRef{"pos", "members", "A1"}, recRef{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := namedRecord(k.String(), tc.ref, tc.detail)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("namedRecord = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	if got, ok := namedRecord("", recRef{"mini", "members", "A1"}, "record mini/members/A1 carries , which crm/members/x also carries"); ok {
		t.Fatalf("an entry without an identifier names %+v", got)
	}
}
