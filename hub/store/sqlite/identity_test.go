package sqlite_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/hub/identity"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/hub/store/sqlite"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// genRecord is one generated channel record with the person it belongs to.
type genRecord struct {
	conn, stream string
	rec          sdk.Record
	person       int
}

func (g genRecord) ref() string { return g.conn + "/" + g.stream + "/" + g.rec.ID }

// population is a seeded set of people and their channel records, with the
// noise of real data: unionids present on only some apps, phones in many
// forms, families sharing a phone, a clerk's phone on hundreds of walk-in
// records, blocked test numbers.
type population struct {
	records []genRecord
	// truth keys per record, as the evidence allows: identifiers carried by
	// one person only (blocked, shared and family phones excluded).
	exclusive map[string][]string
}

func phoneForms(rng *rand.Rand, national string) string {
	switch rng.IntN(5) {
	case 0:
		return "+86 " + national[:3] + "-" + national[3:7] + "-" + national[7:]
	case 1:
		return "86" + national
	case 2:
		return national[:3] + " " + national[3:7] + " " + national[7:]
	case 3:
		return "0086 " + national
	}
	return national
}

func generate(seed uint64, people int) population {
	rng := rand.New(rand.NewPCG(seed, 99))
	var recs []genRecord
	at := time.Unix(1700000000, 0)
	add := func(person int, conn, stream, id string, ids ...mapping.Identity) {
		r := sdk.Record{ID: id, UpdatedAt: at}
		if stream == "orders" {
			r.Order = &mapping.Order{Platform: conn, Shop: "s1", OrderID: id, Status: mapping.OrderPaid, Buyer: ids, UpdatedAt: at, CreatedAt: at}
		} else {
			r.Member = &mapping.Member{Identities: ids, Name: fmt.Sprintf("p%d", person)}
		}
		recs = append(recs, genRecord{conn: conn, stream: stream, rec: r, person: person})
	}
	clerk := "13700001111"
	phones := make([]string, people)
	family := make([]bool, people)
	for p := range people {
		phones[p] = fmt.Sprintf("1%d%d%08d", 3+rng.IntN(7), rng.IntN(10), 10000000+p*37)
		if p > 0 && !family[p-1] && rng.IntN(100) < 3 {
			// A family on one number: each registered in the mini-program
			// with their own WeChat account and that number.
			phones[p] = phones[p-1]
			family[p], family[p-1] = true, true
		}
	}
	for p := range people {
		union := mapping.Identity{Type: mapping.IDWechatUnionID, Scope: "open-1", Value: fmt.Sprintf("u%05d", p)}
		phone := func() mapping.Identity {
			switch rng.IntN(40) {
			case 0:
				return mapping.Identity{Type: mapping.IDPhone, Value: "13800138000"}
			case 1:
				return mapping.Identity{Type: mapping.IDPhone, Value: "null"}
			}
			return mapping.Identity{Type: mapping.IDPhone, Value: phoneForms(rng, phones[p])}
		}
		if rng.IntN(10) < 7 {
			ids := []mapping.Identity{{Type: mapping.IDWechatOpenID, Scope: "wx-oa", Value: fmt.Sprintf("oa%05d", p)}}
			if rng.IntN(10) < 8 {
				ids = append(ids, union)
			}
			add(p, "oa", "followers", ids[0].Value, ids...)
		}
		switch {
		case family[p]:
			add(p, "mini", "users", fmt.Sprintf("mp%05d", p), mapping.Identity{Type: mapping.IDMiniprogramOpenID, Scope: "wx-mini", Value: fmt.Sprintf("mp%05d", p)},
				union, mapping.Identity{Type: mapping.IDPhone, Value: phoneForms(rng, phones[p])})
		case rng.IntN(10) < 6:
			ids := []mapping.Identity{{Type: mapping.IDMiniprogramOpenID, Scope: "wx-mini", Value: fmt.Sprintf("mp%05d", p)}}
			if rng.IntN(10) < 6 {
				ids = append(ids, union)
			}
			if rng.IntN(10) < 6 {
				ids = append(ids, phone())
			}
			add(p, "mini", "users", ids[0].Value, ids...)
		}
		if rng.IntN(10) < 5 {
			ids := []mapping.Identity{{Type: mapping.IDMemberCard, Scope: "brand", Value: fmt.Sprintf("C%05d", p)}}
			switch {
			case rng.IntN(100) < 6:
				ids = append(ids, mapping.Identity{Type: mapping.IDPhone, Value: clerk})
			case rng.IntN(10) < 9:
				ids = append(ids, phone())
			}
			add(p, "pos", "members", ids[0].Value, ids...)
		}
		ouid := mapping.Identity{Type: mapping.IDTaobaoOUID, Scope: "shop1", Value: fmt.Sprintf("ou%05d", p)}
		if rng.IntN(10) < 3 {
			ids := []mapping.Identity{ouid}
			if rng.IntN(10) < 7 {
				ids = append(ids, phone())
			}
			add(p, "tmall", "members", "tm"+ouid.Value, ids...)
		}
		if rng.IntN(10) < 4 {
			for o := range 1 + rng.IntN(3) {
				add(p, "tmall", "orders", fmt.Sprintf("T%05d-%d", p, o), ouid)
			}
		}
		if rng.IntN(10) < 3 {
			open := mapping.Identity{Type: mapping.IDDouyinOpenID, Scope: "dy1", Value: fmt.Sprintf("dy%05d", p)}
			ids := []mapping.Identity{open, {Type: mapping.IDDouyinUnionID, Scope: "brand", Value: fmt.Sprintf("du%05d", p)}}
			if rng.IntN(10) < 4 {
				ids = append(ids, phone())
			}
			add(p, "douyin", "members", open.Value, ids...)
			add(p, "douyin", "orders", "D"+open.Value, open)
		}
	}
	// Truth: a key counts as evidence when it is valid, not blocked and
	// carried by one person only.
	rules := identity.DefaultRules()
	owners := map[string]map[int]bool{}
	keysOf := map[string][]string{}
	for _, g := range recs {
		var ids []mapping.Identity
		if g.rec.Member != nil {
			ids = g.rec.Member.Identities
		} else {
			ids = g.rec.Order.Buyer
		}
		for _, id := range ids {
			k, _, err := rules.Key([]byte("salt"), id)
			if err != nil {
				continue
			}
			ks := k.String()
			if owners[ks] == nil {
				owners[ks] = map[int]bool{}
			}
			owners[ks][g.person] = true
			keysOf[g.ref()] = append(keysOf[g.ref()], ks)
		}
	}
	pop := population{records: recs, exclusive: map[string][]string{}}
	for ref, ks := range keysOf {
		for _, k := range ks {
			if len(owners[k]) == 1 {
				pop.exclusive[ref] = append(pop.exclusive[ref], k)
			}
		}
	}
	return pop
}

// feed applies records in a shuffled order over several syncs of random
// batch sizes, one batch per connection and stream.
func feed(t *testing.T, s *sqlite.Store, recs []genRecord, seed uint64) {
	t.Helper()
	feedBatches(t, s, recs, seed, 50, 450)
}

// feedBatches is feed with syncs of lo to hi-1 records.
func feedBatches(t *testing.T, s *sqlite.Store, recs []genRecord, seed uint64, lo, hi int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	recs = slices.Clone(recs)
	rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	for len(recs) > 0 {
		n := min(len(recs), lo+rng.IntN(hi-lo))
		by := map[string][]sdk.Record{}
		var order []string
		for _, g := range recs[:n] {
			k := g.conn + "\x00" + g.stream
			if by[k] == nil {
				order = append(order, k)
			}
			by[k] = append(by[k], g.rec)
		}
		for _, k := range order {
			conn, stream, _ := strings.Cut(k, "\x00")
			if _, err := s.ApplyBatch(t.Context(), store.Batch{Tenant: "t1", Job: "j-" + conn, Connection: conn, Stream: stream, Records: by[k], At: time.Unix(1700000100, 0)}); err != nil {
				t.Fatal(err)
			}
		}
		recs = recs[n:]
	}
}

// partition reads the member of every stored record.
func partition(t *testing.T, s *sqlite.Store) map[string]string {
	t.Helper()
	rows, err := s.DB().QueryContext(t.Context(), `SELECT connection, stream, record_id, member_id FROM sources WHERE tenant = 't1'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, st, id, m string
		if err := rows.Scan(&c, &st, &id, &m); err != nil {
			t.Fatal(err)
		}
		out[c+"/"+st+"/"+id] = m
	}
	return out
}

// canonical renders a partition as its sorted groups of records, whatever
// the member ids.
func canonical(p map[string]string) string {
	groups := map[string][]string{}
	for ref, m := range p {
		groups[m] = append(groups[m], ref)
	}
	var out []string
	for _, g := range groups {
		sort.Strings(g)
		out = append(out, strings.Join(g, ","))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func pairs(n int) int { return n * (n - 1) / 2 }

func TestOneIDPrecisionAndRecall(t *testing.T) {
	t.Parallel()
	pop := generate(42, 1500)
	s, _ := open(t)
	feed(t, s, pop.records, 1)
	got := partition(t, s)
	if len(got) != len(pop.records) {
		t.Fatalf("stored %d records of %d", len(got), len(pop.records))
	}
	person := map[string]int{}
	for _, g := range pop.records {
		person[g.ref()] = g.person
	}
	// Allowed links: records of one person connected through keys only that
	// person carries.
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		for parent[x] != x {
			x = parent[x]
		}
		return x
	}
	firstOf := map[string]string{}
	for _, g := range pop.records {
		parent[g.ref()] = g.ref()
	}
	for _, g := range pop.records {
		for _, k := range pop.exclusive[g.ref()] {
			if f, ok := firstOf[k]; ok {
				parent[find(g.ref())] = find(f)
			} else {
				firstOf[k] = g.ref()
			}
		}
	}
	hubPairs, truePairs, allowedPairs, foundAllowed := 0, 0, 0, 0
	byMember := map[string]int{}
	byMemberPerson := map[string]int{}
	byComponent := map[string]int{}
	byMemberComponent := map[string]int{}
	for ref, m := range got {
		byMember[m]++
		byMemberPerson[fmt.Sprint(m, "/", person[ref])]++
		byComponent[find(ref)]++
		byMemberComponent[m+"/"+find(ref)]++
	}
	for _, n := range byMember {
		hubPairs += pairs(n)
	}
	for _, n := range byMemberPerson {
		truePairs += pairs(n)
	}
	for _, n := range byComponent {
		allowedPairs += pairs(n)
	}
	for _, n := range byMemberComponent {
		foundAllowed += pairs(n)
	}
	precision := float64(truePairs) / float64(hubPairs)
	recall := float64(foundAllowed) / float64(allowedPairs)
	t.Logf("%d records, %d members: precision %.5f (%d/%d pairs), recall %.5f (%d/%d allowed pairs)",
		len(got), len(byMember), precision, truePairs, hubPairs, recall, foundAllowed, allowedPairs)
	if precision < 0.999 {
		wrong := map[string][]string{}
		for ref, m := range got {
			wrong[m] = append(wrong[m], fmt.Sprint(ref, "@", person[ref]))
		}
		shown := 0
		for _, refs := range wrong {
			ps := map[string]bool{}
			for _, r := range refs {
				ps[r[strings.Index(r, "@"):]] = true
			}
			if len(ps) > 1 && shown < 5 {
				shown++
				t.Logf("mixed member: %v", refs)
			}
		}
		t.Errorf("precision %.5f < 0.999", precision)
	}
	if recall < 0.99 {
		t.Errorf("recall %.5f < 0.99", recall)
	}
	rep, err := s.Conflicts(t.Context(), "t1", 0)
	if err != nil {
		t.Fatal(err)
	}
	// The clerk's phone is stopped; so may be a family's number whose
	// records only that number tied together.
	clerk := mapping.PhoneHash([]byte("salt"), "+8613700001111")
	if !slices.ContainsFunc(rep.Shared, func(sh store.SharedIdentifier) bool { return sh.Identity.Value == clerk }) {
		t.Fatalf("shared identifiers = %+v, want the clerk's phone", rep.Shared)
	}
	for _, sh := range rep.Shared {
		if sh.Identity.Type != "phone" || sh.Members <= identity.DefaultSharedLimit {
			t.Errorf("unexpected shared identifier %+v", sh)
		}
	}
	if len(rep.Conflicts) == 0 {
		t.Fatal("no refused merges: the families' phones should be")
	}
	for _, c := range rep.Conflicts {
		if c.Identity.Type != "phone" || !strings.HasPrefix(c.Rule, identity.RuleLimitPrefix) {
			t.Errorf("unexpected conflict %+v", c)
		}
	}
}

func TestOneIDIgnoresArrivalOrder(t *testing.T) {
	t.Parallel()
	pop := generate(7, 500)
	var want string
	for run := range 4 {
		s, _ := open(t)
		if run < 3 {
			feed(t, s, pop.records, uint64(run+1))
		} else {
			// Syncs of a few records each: every record resolves against
			// what is stored, none against its batch.
			feedBatches(t, s, pop.records, uint64(run+1), 1, 6)
		}
		got := canonical(partition(t, s))
		if run == 0 {
			want = got
		} else if got != want {
			t.Fatalf("arrival order %d gave another partition", run)
		}
	}
}

// sixSharingAnEmail returns six people's own identifiers and a record of
// each carrying it and one email, r1 to r6: one more than the shared guard
// lets link.
func sixSharingAnEmail() ([]mapping.Identity, []sdk.Record) {
	email := mapping.Identity{Type: mapping.IDEmail, Value: "family@example.com"}
	own := []mapping.Identity{
		openid("wx-oa", "oa1"),
		{Type: mapping.IDMiniprogramOpenID, Scope: "wx-mini", Value: "mp2"},
		{Type: mapping.IDDouyinOpenID, Scope: "dy1", Value: "dy3"},
		{Type: mapping.IDTaobaoOUID, Scope: "shop1", Value: "ou4"},
		card("C5"),
		{Type: mapping.IDXHSOpenID, Scope: "xhs1", Value: "xh6"},
	}
	var six []sdk.Record
	for i, id := range own {
		six = append(six, member(fmt.Sprintf("r%d", i+1), id, email))
	}
	return own, six
}

// The shared guard weighs the evidence, not the order it came in: six
// people's records share an email (above the limit of five), and a later
// record shows two of them are one person. In one sync the email links
// five members and all seven records become one; arriving in two syncs, the
// email is stopped first and must be released by the merge, or the result
// would depend on arrival order.
func TestSharedGuardIgnoresArrivalOrder(t *testing.T) {
	t.Parallel()
	own, six := sixSharingAnEmail()
	seventh := member("r7", own[0], own[1])
	all := append(slices.Clone(six), seventh)
	orders := map[string][][]sdk.Record{
		"one sync":             {all},
		"six, then the link":   {six, {seventh}},
		"the link, then six":   {{seventh}, six},
		"one record at a time": nil,
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for _, i := range rng.Perm(len(all)) {
		orders["one record at a time"] = append(orders["one record at a time"], []sdk.Record{all[i]})
	}
	var want string
	for _, name := range []string{"one sync", "six, then the link", "the link, then six", "one record at a time"} {
		s, _ := open(t)
		for i, batch := range orders[name] {
			apply(t, s, "crm", nil, batch...)
			if sh := shared(t, s); name == "six, then the link" && i == 0 && (len(sh) != 1 || sh[0].Members != 6) {
				t.Fatalf("%s: after six, shared = %+v; want the email stopped at 6 members", name, sh)
			}
		}
		got := canonical(partition(t, s))
		if want == "" {
			want = got
			if strings.Count(got, "\n") != 0 {
				t.Fatalf("%s: partition\n%s\nwant one member: the email links five otherwise unrelated members", name, got)
			}
		} else if got != want {
			t.Errorf("%s: partition\n%s\nwant\n%s", name, got, want)
		}
		if sh := shared(t, s); len(sh) != 0 {
			t.Errorf("%s: shared = %+v, want none", name, sh)
		}
	}
}

// A guarded identifier is weighed again when a record stops carrying it,
// too: six records share an email, then one drops it; the five left are
// what the same records stored at once make of it.
func TestSharedGuardReleasedWhenARecordDropsIt(t *testing.T) {
	t.Parallel()
	own, six := sixSharingAnEmail()
	final := slices.Clone(six)
	final[5] = member("r6", own[5])

	s, _ := open(t)
	apply(t, s, "crm", nil, six...)
	apply(t, s, "crm", nil, final[5])
	wantReleased(t, s, "after r6 dropped the email", final)
}

// wantReleased fails unless s holds recs as a store that got them in one
// sync would, and the guard stops nothing.
func wantReleased(t *testing.T, s *sqlite.Store, when string, recs []sdk.Record) {
	t.Helper()
	fresh, _ := open(t)
	apply(t, fresh, "crm", nil, recs...)
	if got, want := canonical(partition(t, s)), canonical(partition(t, fresh)); got != want {
		t.Fatalf("%s: partition\n%s\nwant (the same records stored at once)\n%s", when, got, want)
	}
	if sh := shared(t, s); len(sh) != 0 {
		t.Fatalf("%s: shared = %+v, want the email released", when, sh)
	}
}

// shared lists the identifiers the guard stops for tenant t1.
func shared(t *testing.T, s *sqlite.Store) []store.SharedIdentifier {
	t.Helper()
	rep, err := s.Conflicts(t.Context(), "t1", 0)
	if err != nil {
		t.Fatal(err)
	}
	return rep.Shared
}

// So is one an erased person's records carried: the five left are what
// their records stored at once make of it.
func TestSharedGuardReleasedWhenOneIsErased(t *testing.T) {
	t.Parallel()
	own, six := sixSharingAnEmail()
	s, _ := open(t)
	apply(t, s, "crm", nil, six...)
	if _, err := s.Erase(t.Context(), "t1", memberOf(t, s, own[5]), "", func(string) []string { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	wantReleased(t, s, "after r6's member was erased", six[:5])
}

// A recheck after an erasure can split a member off (a new member id):
// the member sequence it used is saved, so later members get ids of their
// own. Phone P is stopped at six members; m1's email F joined y to it.
// Erasing m6 releases P, which links m1..m5, and F, now between members
// that cannot be one (y's openid and m2's share a scope), contested, puts y
// in a member of its own.
func TestEraseRecheckSavesTheMemberSequence(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	p := phone("139 0571 7777")
	f := mapping.Identity{Type: mapping.IDEmail, Value: "f@example.com"}
	apply(t, s, "crm", nil, member("m1", openid("a1", "o1"), p, f))
	apply(t, s, "crm", nil, member("y", openid("a2", "oy"), f))
	var five []sdk.Record
	for i := 2; i <= 6; i++ {
		five = append(five, member(fmt.Sprintf("m%d", i), openid(fmt.Sprintf("a%d", i), fmt.Sprintf("o%d", i)), p))
	}
	apply(t, s, "crm", nil, five...)
	if memberOf(t, s, openid("a1", "o1")) != memberOf(t, s, openid("a2", "oy")) {
		t.Fatal("setup: y not joined to m1 by the email")
	}
	if _, err := s.Erase(t.Context(), "t1", memberOf(t, s, openid("a6", "o6")), "", func(string) []string { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if memberOf(t, s, openid("a1", "o1")) == memberOf(t, s, openid("a2", "oy")) {
		t.Fatal("y still on m1's member: the erasure split nothing, the test proves nothing")
	}
	if res := apply(t, s, "pos", nil, member("z", union("uz"))); res.NewMembers != 1 {
		t.Fatalf("a new member after the erasure = %+v", res)
	}
}

// An erasure keeps the never-merge pairs of identifiers others still
// hold: X's records were joined by a phone X then unmerged; Y, erased
// later, carried that phone too. A later change to X's record must not
// join them again.
func TestEraseKeepsOthersNeverMerge(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	p := phone("139 0571 8888")
	apply(t, s, "crm", nil, member("r1", openid("a1", "o1"), p), member("r2", card("C1"), p))
	if _, err := s.Unmerge(t.Context(), "t1", memberOf(t, s, openid("a1", "o1")), p, nil); err != nil {
		t.Fatal(err)
	}
	if memberOf(t, s, openid("a1", "o1")) == memberOf(t, s, card("C1")) {
		t.Fatal("setup: the unmerge split nothing")
	}
	apply(t, s, "mini", nil, member("r3", openid("a9", "o9"), p))
	if _, err := s.Erase(t.Context(), "t1", memberOf(t, s, openid("a9", "o9")), "", func(string) []string { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	apply(t, s, "crm", nil, member("r2", card("C1"), p, mapping.Identity{Type: mapping.IDEmail, Value: "e@example.com"}))
	if memberOf(t, s, openid("a1", "o1")) == memberOf(t, s, card("C1")) {
		t.Fatal("the unmerged link came back after someone else carrying the phone was erased")
	}
}

// New links wait in links_new and are merged in bulk into links_mid, and
// from there into links: wherever a link is, it resolves the same, and is
// counted once.
func TestMergedLinksResolveTheSame(t *testing.T) {
	t.Parallel()
	pop := generate(7, 500)
	var want string
	var wantStats store.Stats
	for _, at := range []int{0, 1, 150} { // 0: the default, never reached here
		s, _ := openWith(t, sqlite.Options{MergeLinksAt: at})
		feed(t, s, pop.records, 1)
		// The records are found again wherever their platform ids are
		// (record_ids, record_ids_mid or record_ids_new): a second sync
		// changes nothing.
		refs := map[string]bool{}
		for _, g := range pop.records {
			refs[g.ref()] = true
		}
		feed(t, s, pop.records, 2)
		var stored, ids int
		if err := s.DB().QueryRow(`SELECT (SELECT COUNT(*) FROM sources), (SELECT COUNT(*) FROM source_ids)`).Scan(&stored, &ids); err != nil {
			t.Fatal(err)
		}
		if stored != len(refs) || ids != len(refs) {
			t.Fatalf("merge at %d: %d records and %d platform ids stored after two syncs of %d", at, stored, ids, len(refs))
		}
		var merged, mid, waiting int
		if err := s.DB().QueryRow(`SELECT (SELECT COUNT(*) FROM links), (SELECT COUNT(*) FROM links_mid), (SELECT COUNT(*) FROM links_new)`).Scan(&merged, &mid, &waiting); err != nil {
			t.Fatal(err)
		}
		stats, err := s.Stats(t.Context(), "t1")
		if err != nil {
			t.Fatal(err)
		}
		switch at {
		case 0:
			if merged+mid != 0 || waiting == 0 {
				t.Fatalf("default: %d links merged, %d in the middle, %d waiting; want none merged", merged, mid, waiting)
			}
		case 1:
			if waiting != 0 || merged == 0 || mid >= 10*at {
				t.Fatalf("merge at 1: %d links merged, %d in the middle, %d waiting; want none waiting", merged, mid, waiting)
			}
		default:
			if merged == 0 || mid == 0 || waiting >= at {
				t.Fatalf("merge at %d: %d links merged, %d in the middle, %d waiting", at, merged, mid, waiting)
			}
		}
		if stats.Links != int64(merged+mid+waiting) || stats.Identities == 0 {
			t.Fatalf("merge at %d: stats %+v, %d links stored", at, stats, merged+mid+waiting)
		}
		got := canonical(partition(t, s))
		if at == 0 {
			want, wantStats = got, stats
			continue
		}
		if got != want {
			t.Fatalf("merge at %d gave another partition", at)
		}
		if stats.Links != wantStats.Links || stats.Identities != wantStats.Identities || stats.Members != wantStats.Members {
			t.Fatalf("merge at %d: stats %+v, want %+v", at, stats, wantStats)
		}
	}
}

// memberOf finds the member holding an identity.
func memberOf(t *testing.T, s *sqlite.Store, id mapping.Identity) string {
	t.Helper()
	m, err := s.FindMember(t.Context(), "t1", id)
	if err != nil {
		t.Fatalf("find %v: %v", id, err)
	}
	return m.MemberID
}

func card(v string) mapping.Identity {
	return mapping.Identity{Type: mapping.IDMemberCard, Scope: "brand", Value: v}
}

func TestUnmergeEqualsNeverSeen(t *testing.T) {
	t.Parallel()
	// Links waiting in links_new (the default here) and merged into links.
	for _, at := range []int{0, 1} {
		t.Run(fmt.Sprintf("merge-at-%d", at), func(t *testing.T) { testUnmergeEqualsNeverSeen(t, sqlite.Options{MergeLinksAt: at}) })
	}
}

func testUnmergeEqualsNeverSeen(t *testing.T, opts sqlite.Options) {
	// A mistyped phone on the POS record joined a stranger's card member to
	// a WeChat follower.
	bad := phone("139 5555 0001")
	with := [][]sdk.Record{
		{member("o1", openid("wx1", "o1"), union("U1"))},
		{member("m1", mapping.Identity{Type: mapping.IDMiniprogramOpenID, Scope: "mini", Value: "mo1"}, union("U1"), bad)},
		{member("C1", card("C1"), bad)},
		{member("C2", card("C2"))},
	}
	conns := []string{"wechat", "mini", "pos", "pos"}
	s, _ := openWith(t, opts)
	for i, recs := range with {
		apply(t, s, conns[i], nil, recs...)
	}
	m := memberOf(t, s, union("U1"))
	if memberOf(t, s, card("C1")) != m {
		t.Fatal("setup: the bad phone did not join the card member")
	}
	res, err := s.Unmerge(t.Context(), "t1", m, bad, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.MemberID != m || len(res.Members) != 2 || !slices.Contains(res.Members, m) {
		t.Fatalf("unmerge = %+v", res)
	}
	// The same evidence without the bad phone.
	ref, _ := open(t)
	without := [][]sdk.Record{with[0],
		{member("m1", mapping.Identity{Type: mapping.IDMiniprogramOpenID, Scope: "mini", Value: "mo1"}, union("U1"))},
		{member("C1", card("C1"))}, with[3]}
	for i, recs := range without {
		apply(t, ref, conns[i], nil, recs...)
	}
	if got, want := canonical(partition(t, s)), canonical(partition(t, ref)); got != want {
		t.Fatalf("after unmerge:\n%s\nnever seen:\n%s", got, want)
	}
	if memberOf(t, s, union("U1")) != m {
		t.Fatal("the member lost its id")
	}
	// A later sync of the same records (changed, so resolved again) does
	// not re-create the link.
	again := with[1][0]
	again.Member.Name = "renamed"
	apply(t, s, "mini", nil, again)
	again = with[2][0]
	again.Member.Name = "renamed"
	apply(t, s, "pos", nil, again)
	if memberOf(t, s, card("C1")) == m {
		t.Fatal("a re-sync re-created the unmerged link")
	}
	ex, err := s.Explain(t.Context(), "t1", m)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(ex.Journal, func(e store.JournalEntry) bool { return e.Kind == "unmerge" }) ||
		!slices.ContainsFunc(ex.Journal, func(e store.JournalEntry) bool {
			return e.Kind == "link" && e.RecordID == "C1" && e.Identity != nil && e.Identity.Type == "phone"
		}) {
		t.Fatalf("journal lacks the link of C1 or the unmerge: %+v", ex.Journal)
	}
	if _, err := s.Unmerge(t.Context(), "t1", m, card("C404"), nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unmerge of an identity the member lacks = %v", err)
	}
}

// An unmerge gives an id merged away earlier back to its own records, and
// the hub tags set on it: an id a downstream system holds still names the
// same person, as in a store that never saw the bad evidence.
func TestUnmergeGivesMergedAwayIDsBack(t *testing.T) {
	t.Parallel()
	p := phone("137 0571 3333")
	email := mapping.Identity{Type: mapping.IDEmail, Value: "y@x.cn"}
	feed := func(s *sqlite.Store, withPhone bool) {
		apply(t, s, "pos", nil, member("X", union("u1"), p))
		apply(t, s, "crm", nil, member("Y", card("cY"), email))
		// Both are tagged VIP in the hub, each with a tag of their own.
		tag(t, s, memberOf(t, s, union("u1")), "VIP", "店员推荐")
		tag(t, s, memberOf(t, s, email), "VIP", "Gold")
		z := member("Z", card("cY"))
		if withPhone {
			z = member("Z", p, card("cY"))
		}
		apply(t, s, "crm", nil, z)
	}
	s, _ := open(t)
	feed(s, true)
	xu, yang := memberOf(t, s, union("u1")), memberOf(t, s, email)
	if xu != yang {
		t.Fatal("setup: Z's phone did not merge the two")
	}
	if got := tagsOf(t, s, xu); !slices.Equal(got, []string{"Gold", "VIP", "店员推荐"}) {
		t.Fatalf("merged member's tags = %q, want both members' tags", got)
	}
	// Set on the merged member, by its id and by the alias: each stays
	// with the id it was set on.
	tag(t, s, xu, "Merged")
	ref, _ := open(t)
	feed(ref, false)
	wantXu, wantYang := memberOf(t, ref, union("u1")), memberOf(t, ref, email)
	tag(t, s, wantYang, "ByAlias")
	tag(t, ref, wantXu, "Merged")
	tag(t, ref, wantYang, "ByAlias")
	if _, err := s.Unmerge(t.Context(), "t1", xu, p, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{wantXu, wantYang} {
		if got, want := tagsOf(t, s, id), tagsOf(t, ref, id); !slices.Equal(got, want) {
			t.Errorf("%s's tags after unmerge = %q, want %q", id, got, want)
		}
	}
	if got := memberOf(t, s, union("u1")); got != wantXu {
		t.Errorf("Xu is %s, want %s", got, wantXu)
	}
	if got := memberOf(t, s, email); got != wantYang {
		t.Errorf("Yang is %s, want %s (the id merged away, given back)", got, wantYang)
	}
	v, err := s.Member(t.Context(), "t1", wantYang)
	if err != nil {
		t.Fatal(err)
	}
	if v.MemberID != wantYang || len(v.Sources) != 2 {
		t.Fatalf("member %s = %s with %d records, want Yang's own 2", wantYang, v.MemberID, len(v.Sources))
	}
	if got, want := canonical(partition(t, s)), canonical(partition(t, ref)); got != want {
		t.Fatalf("after unmerge:\n%s\nnever seen:\n%s", got, want)
	}
}

// An identifier whose every record also carries the member's others cannot
// be detached: the unmerge says so and leaves nothing behind (no
// never-merge pair, no journal entry), rather than report a split that
// did not happen.
func TestUnmergeOfANonDetachableIdentifierChangesNothing(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	p := phone("135 0011 2648")
	apply(t, s, "pos", nil, member("C7", card("C7"), p, union("U7")))
	apply(t, s, "wechat", nil, member("o7", openid("wx1", "o7"), union("U7")))
	m := memberOf(t, s, card("C7"))
	before, err := s.Explain(t.Context(), "t1", m)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Unmerge(t.Context(), "t1", m, p, nil)
	if err == nil || !strings.Contains(err.Error(), "nothing to detach") || !strings.Contains(err.Error(), "pos/C7") {
		t.Fatalf("unmerge = %v, want nothing to detach naming pos/C7", err)
	}
	if memberOf(t, s, p) != m {
		t.Fatal("the phone left the member")
	}
	after, err := s.Explain(t.Context(), "t1", m)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Journal) != len(before.Journal) {
		t.Fatalf("journal grew from %d to %d entries", len(before.Journal), len(after.Journal))
	}
	var pairs int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM identity_never`).Scan(&pairs); err != nil || pairs != 0 {
		t.Fatalf("%d never-merge pairs left (%v)", pairs, err)
	}
}

func TestAliasesResolveAndExplainShowsEvidence(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	apply(t, s, "wechat", nil, member("o1", openid("wx1", "o1"), union("U1")))
	apply(t, s, "pos", nil, member("C1", card("C1"), phone("139 1000 2001")))
	ouid := mapping.Identity{Type: mapping.IDTaobaoOUID, Scope: "shop1", Value: "ou1"}
	apply(t, s, "tmall", nil, member("ou1", ouid, phone("139 1000 2002")))
	first, second, third := memberOf(t, s, union("U1")), memberOf(t, s, card("C1")), memberOf(t, s, ouid)
	// One record carries everything: three members become one, the oldest.
	apply(t, s, "mini", nil, member("m1", union("U1"), phone("13910002001"), phone("13910002002")))
	for _, id := range []string{first, second, third} {
		v, err := s.Member(t.Context(), "t1", id)
		if err != nil || v.MemberID != first {
			t.Fatalf("Member(%s) = %v, %v; want the survivor %s", id, v, err, first)
		}
	}
	ex, err := s.Explain(t.Context(), "t1", third)
	if err != nil {
		t.Fatal(err)
	}
	if ex.MemberID != first || len(ex.Aliases) != 2 {
		t.Fatalf("explain = %+v", ex)
	}
	merges := 0
	for _, e := range ex.Journal {
		if e.Kind == "merge" {
			merges++
			if e.MemberID != first || e.RecordID != "m1" || e.Identity == nil {
				t.Errorf("merge entry without its evidence: %+v", e)
			}
		}
	}
	if merges != 2 {
		t.Fatalf("journal has %d merges, want 2: %+v", merges, ex.Journal)
	}
	var unionEntry *store.ExplainedIdentifier
	for i := range ex.Identifiers {
		if ex.Identifiers[i].Identity.Type == "wechat_unionid" {
			unionEntry = &ex.Identifiers[i]
		}
	}
	if unionEntry == nil || len(unionEntry.Records) != 2 {
		t.Fatalf("explain of the unionid = %+v", unionEntry)
	}
}

func TestEraseKeepsThePersonOut(t *testing.T) {
	t.Parallel()
	// Links waiting in links_new (the default here) and merged into links.
	for _, at := range []int{0, 1} {
		t.Run(fmt.Sprintf("merge-at-%d", at), func(t *testing.T) { testEraseKeepsThePersonOut(t, sqlite.Options{MergeLinksAt: at}) })
	}
}

func testEraseKeepsThePersonOut(t *testing.T, opts sqlite.Options) {
	s, path := openWith(t, opts)
	erasedUnion := union("UERASED1")
	recs := []sdk.Record{member("oERASED1", openid("wx1", "oERASED1"), erasedUnion, phone("139 2000 3000"))}
	apply(t, s, "wechat", nil, recs...)
	order := sdk.Record{ID: "T1", UpdatedAt: time.Unix(1700000000, 0), Order: &mapping.Order{Platform: "taobao", Shop: "s", OrderID: "T1", Buyer: []mapping.Identity{erasedUnion}, TotalFen: 100}}
	if _, err := s.ApplyBatch(t.Context(), store.Batch{Tenant: "t1", Job: "j", Connection: "shop", Stream: "orders", Records: []sdk.Record{order}, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	m := memberOf(t, s, erasedUnion)
	res, err := s.Erase(t.Context(), "t1", m, "member.erase", func(c string) []string {
		if c == "wechat" {
			return []string{"member.erase"}
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Orders != 1 || res.Records != 2 || !slices.Equal(res.Queued, []string{"wechat"}) {
		t.Fatalf("erase = %+v", res)
	}
	items, err := s.PendingActions(t.Context(), "t1", "wechat", []string{"member.erase"}, 10)
	if err != nil || len(items) != 1 || !slices.Contains(items[0].Action.Target, openid("wx1", "oERASED1")) {
		t.Fatalf("queued erasure = %+v, %v", items, err)
	}
	if _, err := s.Member(t.Context(), "t1", m); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "erased") {
		t.Fatalf("Member(erased) = %v", err)
	}
	// The platform still has the follower and the order: a later sync
	// brings them again, and they stay out.
	r := apply(t, s, "wechat", nil, recs...)
	if r.Erased != 1 || r.Written != 0 {
		t.Fatalf("re-sync = %+v", r)
	}
	if _, err := s.FindMember(t.Context(), "t1", erasedUnion); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("erased person came back: %v", err)
	}
	stats, _ := s.Stats(t.Context(), "t1")
	if stats.Members != 0 || stats.Orders != 0 || stats.Erased != 1 {
		t.Fatalf("stats = %+v", stats)
	}
	if err := s.ExportMembers(t.Context(), "t1", func(m *store.MemberView) error {
		return fmt.Errorf("export lists erased member %s", m.MemberID)
	}); err != nil {
		t.Fatal(err)
	}
	// Once the platform confirmed the deletion, nothing of the person is
	// left in the file: not in clear, not by id.
	if err := s.CompleteActions(t.Context(), "t1", []store.OutboxResult{{ID: items[0].ID, Status: sdk.StatusApplied}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, v := range []string{"oERASED1", "UERASED1", "13920003000"} {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s still holds %q after the erasure", filepath.Base(f), v)
			}
		}
	}
}

// Erasing one person keeps out only what was theirs alone: a phone the
// family shares, or a clerk's phone the guard stopped, still reaches the
// living members who hold it; and the living members' journal no longer
// names the erased person's records.
func TestEraseLeavesOthersIdentifiers(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	ctx := t.Context()
	family := phone("139 0571 0001")
	apply(t, s, "pos", nil, member("F1", family, union("uDad")))
	apply(t, s, "pos", nil, member("F2", family, union("uMom")))
	dad, mom := memberOf(t, s, union("uDad")), memberOf(t, s, union("uMom"))
	if dad == mom {
		t.Fatal("setup: the family phone merged two people with their own unionids")
	}
	if _, err := s.Erase(ctx, "t1", mom, "", func(string) []string { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	// Dad's next record with the family phone is Dad's, not the erased Mom.
	ouid := mapping.Identity{Type: mapping.IDTaobaoOUID, Scope: "shop1", Value: "dad-tb"}
	r := apply(t, s, "tmall", nil, member("D2", family, ouid))
	if r.Erased != 0 || memberOf(t, s, ouid) != dad {
		t.Fatalf("Dad's record with the family phone: %+v (erased %d)", r, r.Erased)
	}
	// Mom's own identifiers still keep her out.
	if r := apply(t, s, "wechat", nil, member("oMom2", openid("wx1", "oMom2"), union("uMom"))); r.Erased != 1 {
		t.Fatalf("a record with the erased person's unionid: %+v", r)
	}
	// X and Y's member were merged by Z's phone, then the phone was
	// unmerged: Y and Z are a member of their own, erased now. X's member's
	// journal told of that merge, naming Y and Z.
	p := phone("137 0571 3333")
	apply(t, s, "pos", nil, member("X", union("u1"), p))
	apply(t, s, "crm", nil, member("Y", card("cY"), mapping.Identity{Type: mapping.IDEmail, Value: "y@x.cn"}))
	apply(t, s, "crm", nil, member("Z", p, card("cY")))
	x := memberOf(t, s, union("u1"))
	if _, err := s.Unmerge(ctx, "t1", x, p, nil); err != nil {
		t.Fatal(err)
	}
	named := func() int {
		var n int
		if err := s.DB().QueryRow(`SELECT COUNT(*) FROM identity_journal WHERE record_id IN ('Y', 'Z') AND member_id = ?`, x).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if named() == 0 {
		t.Fatal("setup: X's journal does not name Y or Z")
	}
	if _, err := s.Erase(ctx, "t1", memberOf(t, s, card("cY")), "", func(string) []string { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if n := named(); n != 0 {
		t.Fatalf("%d entries of X's journal still name the erased person's records", n)
	}
	s.Close()
	for _, f := range []string{path, path + "-wal"} {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte("uMom")) {
			t.Errorf("%s still holds the erased unionid", filepath.Base(f))
		}
	}
}

// An erasure deletes the dead letters of the person's records with them,
// and a later read failing the same record does not store it again.
func TestEraseDeletesTheMembersDeadLetters(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	ctx := t.Context()
	apply(t, s, "wechat", nil, member("oERASED1", openid("wx1", "oERASED1"), phone("139 2000 3000")))
	apply(t, s, "wechat", nil, member("oKEPT1", openid("wx1", "oKEPT1")))
	bad := func(id, loc string) sdk.Record {
		return sdk.Record{ID: id, Bad: &sdk.BadRecord{Reason: "bad birthday", Location: loc, Raw: []byte(id + ",13920003000")}}
	}
	erasedBad := bad("oERASED1", "page LOC-ERASED")
	if r := apply(t, s, "wechat", nil, erasedBad, bad("oKEPT1", "page LOC-KEPT"), bad("", "page LOC-NOID")); r.DeadLettered != 3 {
		t.Fatalf("dead-lettered %d, want 3", r.DeadLettered)
	}
	res, err := s.Erase(ctx, "t1", memberOf(t, s, openid("wx1", "oERASED1")), "", func(string) []string { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.DeadLetters != 1 {
		t.Errorf("erase deleted %d dead letters, want 1", res.DeadLetters)
	}
	locations := func() []string {
		t.Helper()
		dls, err := s.DeadLetters(ctx, "t1", 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range dls {
			out = append(out, d.Location)
		}
		sort.Strings(out)
		return out
	}
	if got := locations(); !slices.Equal(got, []string{"page LOC-KEPT", "page LOC-NOID"}) {
		t.Fatalf("dead letters after the erasure: %v", got)
	}
	// The platform sends the bad record again: it stays out.
	if r := apply(t, s, "wechat", nil, erasedBad); r.DeadLettered != 0 || r.Erased != 1 {
		t.Fatalf("re-read of the erased record's bad version = %+v", r)
	}
	if got := locations(); !slices.Equal(got, []string{"page LOC-KEPT", "page LOC-NOID"}) {
		t.Fatalf("dead letters after a re-read: %v", got)
	}
	s.Close()
	assertNotInFiles(t, path, "LOC-ERASED")
}

// A link entry names two records: the one that joined and the one that
// already held the identifier. When the holder leaves the member and its
// person is erased, the entry goes too: record ids are often platform ids.
func TestEraseDropsOtherMembersEntriesNamingItsRecords(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	holderJoinedAndLeft(t, s)
	h := memberOf(t, s, phone("139 0000 7731"))
	if _, err := s.Erase(t.Context(), "t1", h, "", func(string) []string { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if n := journalNaming(t, s, "oH-7731"); n != 0 {
		t.Fatalf("%d journal entries still name the erased record", n)
	}
}

// holderJoinedAndLeft stores a member whose link entry names wechat's
// record oH-7731, which then leaves the member for one of its own.
func holderJoinedAndLeft(t *testing.T, s *sqlite.Store) {
	t.Helper()
	p := phone("137 2200 4411")
	mini := mapping.Identity{Type: mapping.IDMiniprogramOpenID, Scope: "mini", Value: "mo1"}
	apply(t, s, "pos", nil, member("P1", card("c1"), p))
	apply(t, s, "wechat", nil, member("oH-7731", p, union("u1")))
	// A1 joins through the unionid only oH-7731 holds.
	apply(t, s, "mini", nil, member("A1", mini, union("u1")))
	m := memberOf(t, s, card("c1"))
	if memberOf(t, s, mini) != m || journalNaming(t, s, "oH-7731") < 2 {
		t.Fatal("setup: A1 did not join through oH-7731")
	}
	apply(t, s, "mini", nil, member("A1", mini, union("u1"), card("c1")))
	apply(t, s, "wechat", nil, member("oH-7731", phone("139 0000 7731")))
	if memberOf(t, s, mini) != m || memberOf(t, s, phone("139 0000 7731")) == m {
		t.Fatal("setup: oH-7731 did not leave the member, or A1 left with it")
	}
}

// journalNaming counts the journal entries whose detail names record id.
func journalNaming(t *testing.T, s *sqlite.Store, id string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM identity_journal WHERE instr(detail, ?) > 0`, "/"+id+" ").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// tag adds hub tags to a member.
func tag(t *testing.T, s *sqlite.Store, memberID string, tags ...string) {
	t.Helper()
	if _, err := s.ChangeTags(t.Context(), "t1", memberID, tags, nil, func(string) []string { return nil }); err != nil {
		t.Fatal(err)
	}
}

// tagsOf returns a member's tags, sorted.
func tagsOf(t *testing.T, s *sqlite.Store, memberID string) []string {
	t.Helper()
	v, err := s.Member(t.Context(), "t1", memberID)
	if err != nil {
		t.Fatal(err)
	}
	return v.Tags
}
