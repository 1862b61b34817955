package identity_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/channelhub/channelhub/hub/identity"
	"github.com/channelhub/channelhub/mapping"
)

func TestKey(t *testing.T) {
	t.Parallel()
	r := identity.DefaultRules()
	salt := []byte("s")
	k1, clear, err := r.Key(salt, mapping.Identity{Type: mapping.IDPhone, Value: "138 0013 8001"})
	if err != nil || clear != "+8613800138001" || k1.Value != mapping.PhoneHash(salt, "+8613800138001") {
		t.Fatalf("phone key = %v %q %v", k1, clear, err)
	}
	k2, _, _ := r.Key(salt, mapping.Identity{Type: mapping.IDPhone, Value: "+86 138-0013-8001"})
	if k1 != k2 {
		t.Fatal("two forms of one phone gave different keys")
	}
	e1, _, _ := r.Key(salt, mapping.Identity{Type: mapping.IDEmail, Value: " Wang@Example.com"})
	e2, _, _ := r.Key(salt, mapping.Identity{Type: mapping.IDEmail, Value: "wang@example.com"})
	if e1 != e2 {
		t.Fatal("emails differing in case gave different keys")
	}
	a, _, _ := r.Key(salt, mapping.Identity{Type: mapping.IDWechatOpenID, Scope: "wx1", Value: "o1"})
	b, _, _ := r.Key(salt, mapping.Identity{Type: mapping.IDWechatOpenID, Scope: "wx2", Value: "o1"})
	if a == b {
		t.Fatal("scoped ids matched across scopes")
	}
	if back, err := identity.ParseKey(a.String()); err != nil || back != a {
		t.Fatalf("ParseKey(String()) = %v, %v", back, err)
	}
}

// blockedCase is an identity and whether the rules drop it as blocked.
type blockedCase struct {
	id      mapping.Identity
	blocked bool
}

// checkBlocked reports every case the rules get wrong; what names the rules.
func checkBlocked(t *testing.T, what string, r identity.Rules, cases []blockedCase) {
	t.Helper()
	for _, tc := range cases {
		_, _, err := r.Key([]byte("s"), tc.id)
		if got := errors.Is(err, identity.ErrBlocked); got != tc.blocked {
			t.Errorf("%s: Key(%v): blocked = %v (%v), want %v", what, tc.id, got, err, tc.blocked)
		}
	}
}

func TestBlocked(t *testing.T) {
	t.Parallel()
	r := identity.DefaultRules()
	checkBlocked(t, "defaults", r, []blockedCase{
		{mapping.Identity{Type: mapping.IDWechatOpenID, Scope: "wx1", Value: "null"}, true},
		{mapping.Identity{Type: mapping.IDWechatOpenID, Scope: "wx1", Value: "UNDEFINED"}, true},
		{mapping.Identity{Type: mapping.IDMemberCard, Scope: "brand", Value: "0"}, true},
		{mapping.Identity{Type: mapping.IDPhone, Value: "13800138000"}, true},
		{mapping.Identity{Type: mapping.IDPhone, Value: "+86 138 0013 8000"}, true},
		{mapping.Identity{Type: mapping.IDPhone, Value: "13111111111"}, true},
		{mapping.Identity{Type: mapping.IDPhone, Value: "18888888888"}, true},
		{mapping.Identity{Type: mapping.IDPhone, Value: "13800000000"}, true},
		{mapping.Identity{Type: mapping.IDPhone, Value: "13912345670"}, false},
		{mapping.Identity{Type: mapping.IDWechatOpenID, Scope: "wx1", Value: "o-123"}, false},
	})
	for _, bad := range []mapping.Identity{
		{Type: mapping.IDPhone, Value: "12345"},
		{Type: mapping.IDWechatOpenID, Value: "o1"},
		{Type: "fax", Value: "1"},
	} {
		if _, _, err := r.Key([]byte("s"), bad); err == nil || errors.Is(err, identity.ErrBlocked) {
			t.Errorf("Key(%v) = %v, want a validation error", bad, err)
		}
	}
	custom, err := identity.Override{Blocked: []string{"C-DEMO"}}.Apply()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := custom.Key(nil, mapping.Identity{Type: mapping.IDMemberCard, Scope: "b", Value: "c-demo"}); !errors.Is(err, identity.ErrBlocked) {
		t.Fatalf("configured blocked value accepted: %v", err)
	}
}

// A tenant's blocked phone blocks that phone however either is written;
// other blocked values keep matching as written.
func TestBlockedPhoneInAnyForm(t *testing.T) {
	t.Parallel()
	for _, blocked := range []string{"139-0571-6666", "+8613905716666", "13905716666", "(+86) 139 0571 6666", "0086 139.0571.6666", "１３９０５７１６６６６"} {
		r, err := identity.Override{Blocked: []string{blocked, "C-DEMO", "4000000000"}}.Apply()
		if err != nil {
			t.Fatal(err)
		}
		checkBlocked(t, fmt.Sprintf("blocked %q", blocked), r, []blockedCase{
			{mapping.Identity{Type: mapping.IDPhone, Value: "13905716666"}, true},
			{mapping.Identity{Type: mapping.IDPhone, Value: "+86 139-0571-6666"}, true},
			{mapping.Identity{Type: mapping.IDPhone, Value: "8613905716666"}, true},
			{mapping.Identity{Type: mapping.IDPhone, Value: "(86)139 0571 6666"}, true},
			{mapping.Identity{Type: mapping.IDPhone, Value: "13905716667"}, false},
			{mapping.Identity{Type: mapping.IDPhone, Value: "+85213905716666"}, false},
			// The defaults still block, and non-phone values still match as written.
			{mapping.Identity{Type: mapping.IDPhone, Value: "138-0013-8000"}, true},
			{mapping.Identity{Type: mapping.IDMemberCard, Scope: "b", Value: "c-demo"}, true},
			{mapping.Identity{Type: mapping.IDMemberCard, Scope: "b", Value: "4000000000"}, true},
			{mapping.Identity{Type: mapping.IDMemberCard, Scope: "b", Value: "C-DEMO-2"}, false},
		})
	}
}

func TestOverrideErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		o    identity.Override
		want []string // every problem
	}{
		{identity.Override{Types: map[string]identity.TypeRule{"fax": {Limit: 1}}}, []string{"types.fax: not an identity type"}},
		{identity.Override{Types: map[string]identity.TypeRule{"phone": {Limit: 0}}}, []string{"types.phone.limit: 0: want a whole number ≥ 1"}},
		{identity.Override{SharedLimit: -1}, []string{"shared_limit: -1"}},
		{identity.Override{Types: map[string]identity.TypeRule{"member_card": {Limit: -1, Priority: -5}, "fax": {Limit: 1}}, SharedLimit: -2}, []string{
			"types.fax: not an identity type",
			"types.member_card.priority: -5: want a whole number ≥ 0",
			"types.member_card.limit: -1: want a whole number ≥ 1",
			"shared_limit: -2: want a whole number ≥ 1",
		}},
	} {
		_, err := tc.o.Apply()
		if err == nil || strings.Count(err.Error(), "\n")+1 != len(tc.want) {
			t.Errorf("Apply(%+v) = %v, want %d problems", tc.o, err, len(tc.want))
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Apply(%+v) = %v, want %q", tc.o, err, w)
			}
		}
	}
	r, err := identity.Override{Types: map[string]identity.TypeRule{"phone": {Priority: 10, Limit: 1}}, SharedLimit: 9}.Apply()
	if err != nil || r.Types[mapping.IDPhone].Limit != 1 || r.SharedLimit != 9 || r.Types[mapping.IDWechatUnionID].Limit != 1 {
		t.Fatalf("Apply = %+v, %v", r, err)
	}
}

func key(t mapping.IdentityType, scope, v string) identity.Key {
	return identity.Key{Type: t, Scope: scope, Value: v}
}

var (
	u1 = key(mapping.IDWechatUnionID, "open", "U1")
	u2 = key(mapping.IDWechatUnionID, "open", "U2")
	o1 = key(mapping.IDWechatOpenID, "wx1", "O1")
	o2 = key(mapping.IDWechatOpenID, "wx1", "O2")
	p1 = key(mapping.IDPhone, "", "h1")
	p2 = key(mapping.IDPhone, "", "h2")
	c1 = key(mapping.IDMemberCard, "brand", "C1")
)

// groupsOf renders a partition as sorted groups of node names.
func groupsOf(nodes []identity.Node, res identity.Result) string {
	byGroup := map[int][]string{}
	for i, n := range nodes {
		byGroup[res.Group[i]] = append(byGroup[res.Group[i]], n.Order)
	}
	var out []string
	for _, g := range byGroup {
		slices.Sort(g)
		out = append(out, strings.Join(g, "+"))
	}
	slices.Sort(out)
	return strings.Join(out, " | ")
}

func TestPartition(t *testing.T) {
	t.Parallel()
	rules := identity.DefaultRules()
	for _, tc := range []struct {
		name      string
		nodes     []identity.Node
		never     identity.Never
		want      string
		conflicts []string
	}{
		{
			name:  "a shared unionid links openids of two apps",
			nodes: []identity.Node{{Order: "a", Keys: []identity.Key{o1, u1}}, {Order: "b", Keys: []identity.Key{u1, c1}}, {Order: "c", Keys: []identity.Key{c1}}},
			want:  "a+b+c",
		},
		{
			name:      "a family phone does not join two unionids",
			nodes:     []identity.Node{{Order: "a", Keys: []identity.Key{u1, p1}}, {Order: "b", Keys: []identity.Key{u2, p1}}},
			want:      "a | b",
			conflicts: []string{"b phone limit:wechat_unionid"},
		},
		{
			name: "priority: unionid links first, so the phone is what is refused",
			// c carries u1 and p2; b carries o2 (an openid of app wx1) and p2;
			// a carries o1 and u1. Via unionid a+c join; then p2 would bring b's
			// second wx1 openid: refused.
			nodes:     []identity.Node{{Order: "b", Keys: []identity.Key{o2, p2}}, {Order: "a", Keys: []identity.Key{o1, u1}}, {Order: "c", Keys: []identity.Key{u1, p2}}},
			want:      "a+c | b",
			conflicts: []string{"c phone limit:wechat_openid"},
		},
		{
			name:  "phones up to the limit join one member",
			nodes: []identity.Node{{Order: "a", Keys: []identity.Key{u1, p1}}, {Order: "b", Keys: []identity.Key{u1, p2}}},
			want:  "a+b",
		},
		{
			name:      "never-merge: the detached key drops from records carrying a partner, and refuses joins",
			nodes:     []identity.Node{{Order: "a", Keys: []identity.Key{u1, p1}}, {Order: "b", Keys: []identity.Key{p1, c1}}, {Order: "c", Keys: []identity.Key{p1}}},
			never:     identity.Never{p1: {u1: true, c1: true}},
			want:      "a | b | c",
			conflicts: nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := rules.Partition(tc.nodes, tc.never)
			if got := groupsOf(tc.nodes, res); got != tc.want {
				t.Fatalf("partition = %s, want %s", got, tc.want)
			}
			var conflicts []string
			for _, c := range res.Conflicts {
				conflicts = append(conflicts, tc.nodes[c.Node].Order+" "+string(c.Key.Type)+" "+c.Rule)
			}
			if !slices.Equal(conflicts, tc.conflicts) {
				t.Fatalf("conflicts = %q, want %q", conflicts, tc.conflicts)
			}
		})
	}
}

func TestPartitionIgnoresArrivalOrder(t *testing.T) {
	t.Parallel()
	rules := identity.DefaultRules()
	rng := rand.New(rand.NewPCG(1, 2))
	// A tangle of records: unionids, openids, phones and cards drawn from
	// small pools so that limits bite.
	var nodes []identity.Node
	for i := range 300 {
		var keys []identity.Key
		for range 1 + rng.IntN(3) {
			switch rng.IntN(4) {
			case 0:
				keys = append(keys, key(mapping.IDWechatUnionID, "open", string(rune('A'+rng.IntN(40)))))
			case 1:
				keys = append(keys, key(mapping.IDWechatOpenID, "wx1", string(rune('A'+rng.IntN(60)))))
			case 2:
				keys = append(keys, key(mapping.IDPhone, "", string(rune('A'+rng.IntN(50)))))
			default:
				keys = append(keys, key(mapping.IDMemberCard, "brand", string(rune('A'+rng.IntN(80)))))
			}
		}
		nodes = append(nodes, identity.Node{Order: string(rune(0x4e00 + i)), Keys: keys})
	}
	want := groupsOf(nodes, rules.Partition(nodes, nil))
	for range 5 {
		shuffled := slices.Clone(nodes)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for i := range shuffled {
			keys := slices.Clone(shuffled[i].Keys)
			rng.Shuffle(len(keys), func(a, b int) { keys[a], keys[b] = keys[b], keys[a] })
			shuffled[i].Keys = keys
		}
		if got := groupsOf(shuffled, rules.Partition(shuffled, nil)); got != want {
			t.Fatal("a shuffled arrival gave another partition")
		}
	}
}

func TestJoinsNameTheMergedMembers(t *testing.T) {
	t.Parallel()
	rules := identity.DefaultRules()
	nodes := []identity.Node{{Order: "a", Keys: []identity.Key{u1}, Member: "m1"}, {Order: "b", Keys: []identity.Key{c1}, Member: "m2"}, {Order: "c", Keys: []identity.Key{u1, c1}}}
	res := rules.Partition(nodes, nil)
	// Two joins: the new record c joins m1 (a link), then m2 (a merge).
	if res.Groups != 1 || len(res.Joins) != 2 || len(res.Joins[0].B) != 0 {
		t.Fatalf("groups %d joins %+v", res.Groups, res.Joins)
	}
	j := res.Joins[1]
	if !slices.Equal(append(j.A, j.B...), []string{"m1", "m2"}) && !slices.Equal(append(j.B, j.A...), []string{"m1", "m2"}) {
		t.Fatalf("join = %+v", j)
	}
}

func TestShared(t *testing.T) {
	t.Parallel()
	rules := identity.DefaultRules()
	clerk := key(mapping.IDPhone, "", "clerk")
	var nodes []identity.Node
	// Seven walk-in customers, each with their own card, all with the
	// clerk's phone; one customer has two records.
	for i := range 7 {
		nodes = append(nodes, identity.Node{Order: string(rune('a' + i)), Keys: []identity.Key{clerk, key(mapping.IDMemberCard, "brand", string(rune('A'+i)))}})
	}
	nodes = append(nodes, identity.Node{Order: "z", Keys: []identity.Key{clerk, key(mapping.IDMemberCard, "brand", "A")}})
	got := rules.Shared(nodes, map[identity.Key]bool{clerk: true}, nil)
	if got[clerk] != 7 {
		t.Fatalf("shared count = %d, want 7", got[clerk])
	}
}

func TestSharedIgnoresAnonymousRecords(t *testing.T) {
	t.Parallel()
	rules := identity.DefaultRules()
	p := key(mapping.IDPhone, "", "buyer")
	// One buyer's ten orders carry only their phone; one record links the
	// phone to a card.
	var nodes []identity.Node
	for i := range 10 {
		nodes = append(nodes, identity.Node{Order: fmt.Sprint("order", i), Keys: []identity.Key{p}})
	}
	nodes = append(nodes, identity.Node{Order: "pos", Keys: []identity.Key{p, c1}})
	if got := rules.Shared(nodes, map[identity.Key]bool{p: true}, nil)[p]; got != 1 {
		t.Fatalf("shared count = %d, want 1: orders with only the phone are not other people", got)
	}
	if identity.Guardable(mapping.IDWechatOpenID) || !identity.Guardable(mapping.IDPhone) {
		t.Fatal("the guard watches typed values, not platform account ids")
	}
}
