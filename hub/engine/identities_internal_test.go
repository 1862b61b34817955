package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

func TestMalformedIdentitiesAreLoggedNotDroppedSilently(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	e := &Engine{log: zerolog.New(&buf)}
	w := e.identityWarnings("t1", "crm", "members")
	member := func(id string, ids ...mapping.Identity) sdk.Record {
		return sdk.Record{ID: id, Member: &mapping.Member{Identities: ids}}
	}
	w.check([]sdk.Record{
		member("m1", mapping.Identity{Type: mapping.IDWechatOpenID, Scope: "wx1", Value: "o-good"}),
		member("m2", mapping.Identity{Type: "loyalty_id", Value: "L-SECRET-1"}, mapping.Identity{Type: mapping.IDPhone, Value: "+8613800138000"}),
		{ID: "o1", Order: &mapping.Order{Buyer: []mapping.Identity{{Type: mapping.IDMemberCard, Value: "CARD-SECRET-2"}}}},
		{ID: "p1", Points: &mapping.PointsEntry{Member: mapping.Identity{Type: mapping.IDMemberCard, Scope: "brand", Value: " "}}},
	})
	w.summary()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 4 {
		t.Fatalf("logged %d lines, want 3 dropped identities and a summary:\n%s", len(lines), buf.String())
	}
	for i, want := range [][2]string{{"m2", "loyalty_id"}, {"o1", "member_card"}, {"p1", "member_card"}} {
		l := lines[i]
		if l["level"] != "warn" || l["record"] != want[0] || l["identity_type"] != want[1] || l["connection"] != "crm" || l["stream"] != "members" {
			t.Errorf("line %d = %v, want a warning for record %s, type %s", i, l, want[0], want[1])
		}
	}
	if s := lines[3]; s["dropped"] != 3.0 || fmt.Sprint(s["by_type"]) != "map[loyalty_id:1 member_card:2]" {
		t.Errorf("summary = %v", s)
	}
	for _, v := range []string{"L-SECRET-1", "CARD-SECRET-2", "o-good", "13800138000"} {
		if strings.Contains(buf.String(), v) {
			t.Errorf("the log carries an identity value %q:\n%s", v, buf.String())
		}
	}

	// Past the first few, dropped identities are only counted.
	buf.Reset()
	w = e.identityWarnings("t1", "crm", "members")
	for i := range 3 * maxIdentityWarnings {
		w.check([]sdk.Record{member(fmt.Sprint("m", i), mapping.Identity{Type: "loyalty_id", Value: "x"})})
	}
	w.summary()
	if n := strings.Count(buf.String(), "\n"); n != maxIdentityWarnings+1 {
		t.Fatalf("logged %d lines for %d dropped identities, want %d and a summary", n, 3*maxIdentityWarnings, maxIdentityWarnings)
	}
	if !strings.Contains(buf.String(), fmt.Sprintf(`"dropped":%d`, 3*maxIdentityWarnings)) {
		t.Fatalf("summary does not count them all:\n%s", buf.String())
	}
}
