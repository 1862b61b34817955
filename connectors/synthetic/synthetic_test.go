package synthetic_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/channelhub/channelhub/connectors/synthetic"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

func connector(t *testing.T, ids string) *synthetic.Connector {
	t.Helper()
	cfg, err := synthetic.Spec.ParseConfig(map[string]any{"records": 100, "ids": ids})
	if err != nil {
		t.Fatal(err)
	}
	c, err := synthetic.New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*synthetic.Connector)
}

func identity(r sdk.Record, typ mapping.IdentityType) string {
	for _, id := range r.Member.Identities {
		if id.Type == typ {
			return id.Value
		}
	}
	return ""
}

func TestIDs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ids    string
		sorted bool
	}{{"sequential", true}, {"random", false}} {
		c := connector(t, tc.ids)
		var openids, recordIDs []string
		for i := range int64(100) {
			r := c.Record(i)
			if r.Member == nil {
				t.Fatalf("%s: record %d has no member", tc.ids, i)
			}
			openid := identity(r, mapping.IDWechatOpenID) + identity(r, mapping.IDMiniprogramOpenID)
			openids = append(openids, openid)
			recordIDs = append(recordIDs, r.ID)
			if tc.ids == "random" && r.ID != openid {
				t.Errorf("random: record id %q is not the openid %q", r.ID, openid)
			}
			if i%20 == 19 && identity(r, mapping.IDWechatUnionID) != identity(c.Record(i-1), mapping.IDWechatUnionID) {
				t.Errorf("%s: mini-program user %d does not share the unionid of %d", tc.ids, i, i-1)
			}
			if again := c.Record(i); identity(again, mapping.IDWechatUnionID) != identity(r, mapping.IDWechatUnionID) || again.ID != r.ID {
				t.Errorf("%s: record %d is not stable", tc.ids, i)
			}
		}
		if got := len(slices.Compact(slices.Sorted(slices.Values(openids)))); got != 100 {
			t.Errorf("%s: %d distinct openids of 100", tc.ids, got)
		}
		if got := slices.IsSorted(openids[:19]); got != tc.sorted {
			t.Errorf("%s: openids sorted = %v: %s", tc.ids, got, strings.Join(openids[:5], " "))
		}
	}
	if _, err := synthetic.Spec.ParseConfig(map[string]any{"ids": "shuffled"}); err == nil || !strings.Contains(err.Error(), "ids") {
		t.Errorf("ids: shuffled accepted: %v", err)
	}
}
