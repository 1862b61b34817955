package sqlite

import (
	"cmp"
	"database/sql"
	"fmt"
	"maps"
	"slices"

	"github.com/channelhub/channelhub/hub/identity"
)

// gnode is one record of the part of the evidence graph being resolved.
type gnode struct {
	id     int64 // sources.id; 0 for a new record
	ref    recRef
	kind   string
	xref   string
	keys   []identity.Key
	member string    // current member; "" for a new record
	origin string    // the member it was first given; "" for a new record or one stored before migration 5
	p      *prepared // set for a changed record of the batch
}

// graph is the part of the evidence graph a change touches: every record
// reachable from the changed records through identifiers that link.
type graph struct {
	nodes   []*gnode
	byID    map[int64]bool // stored records in nodes
	guarded map[identity.Key]bool
	never   identity.Never
	// recheck holds guarded identifiers whose guard is weighed again:
	// expand follows them, and guard keeps or releases them.
	recheck map[identity.Key]bool
}

// settle writes the changed records whose place needs no graph work and
// returns the others. A record whose identifiers did not change keeps its
// member: the evidence is what it was. A new record whose identifiers all
// belong to one member already, none of them guarded, joins that member:
// it brings no identifier the member lacks, so no limit, contest or guard
// count can change (a repeat buyer's next order). Without this, every order
// would load all of its buyer's earlier ones. A new record whose
// identifiers nothing stored carries and no other record of the batch
// carries either, at most one of each type and scope, is a member of its
// own: no rule can apply to it (a first sync's typical record).
//
// The identifiers of the records it returns that were found carried by
// nothing stored are remembered in a.unheld, so that resolve does not look
// them up again.
func (a *applier) settle(changed []*prepared) ([]*prepared, error) {
	var rest, probe []*prepared
	inBatch := make(map[string]int, 3*len(changed)) // how many changed records carry each key, now or before
	for _, p := range changed {
		for _, k := range p.keyStrs {
			inBatch[k]++
		}
		if p.old != nil {
			for _, k := range p.old.keys {
				if !slices.Contains(p.keys, k) {
					inBatch[k.String()]++
				}
			}
		}
	}
	for _, p := range changed {
		switch {
		case p.old != nil && slices.Equal(p.old.keys, p.keys):
			if err := a.write(p, p.old.member); err != nil {
				return nil, err
			}
			a.res.Written++
		case p.old == nil && !a.has.never:
			probe = append(probe, p)
		default:
			rest = append(rest, p)
		}
	}
	if len(probe) == 0 {
		return rest, nil
	}
	var keys []any
	seen := make(map[string]bool, len(inBatch))
	for _, p := range probe {
		for _, k := range p.keyStrs {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	owners := map[string][]string{}
	keys, err := a.filterUnheld(keys)
	if err != nil {
		return nil, err
	}
	err = a.inChunks(keys, func(part []any) error {
		args := append([]any{a.tenant}, part...)
		return a.each(`SELECT l.ikey, s.member_id FROM identifier_links l JOIN sources s ON s.id = l.src
			WHERE l.tenant = ? AND l.ikey IN (`+placeholders(len(part))+`) GROUP BY l.ikey, s.member_id`, args, func(r *sql.Rows) error {
			var ikey, member string
			err := r.Scan(&ikey, &member)
			owners[ikey] = append(owners[ikey], member)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("identifier owners: %w", err)
	}
	guarded := map[string]bool{}
	if err := a.loadGuarded(keys, func(k string) error { guarded[k] = true; return nil }); err != nil {
		return nil, err
	}
	var placed []settled
	for _, p := range probe {
		if member, ok := a.settledMember(p, owners, guarded, inBatch); ok {
			placed = append(placed, settled{p, member})
			continue
		}
		rest = append(rest, p)
		for _, k := range p.keyStrs {
			if len(owners[k]) == 0 {
				a.unheld[k] = true
			}
		}
	}
	return rest, a.insertNew(placed)
}

// settled is a new record settle placed: in a current member, or in a
// member of its own when member is "".
type settled struct {
	p      *prepared
	member string
}

// settledMember is the member a new record joins without graph work: ok
// with "" for a member of its own, not ok if it needs graph work; see
// settle.
func (a *applier) settledMember(p *prepared, owners map[string][]string, guarded map[string]bool, inBatch map[string]int) (member string, ok bool) {
	alone := true
	for i, k := range p.keyStrs {
		if len(owners[k]) > 0 || guarded[k] || inBatch[k] > 1 || slices.ContainsFunc(p.keys[:i], func(o identity.Key) bool { return o.Type == p.keys[i].Type && o.Scope == p.keys[i].Scope }) {
			alone = false
			break
		}
	}
	if alone {
		return "", true
	}
	for _, k := range p.keyStrs {
		o := owners[k]
		if len(o) != 1 || guarded[k] || (member != "" && o[0] != member) {
			return "", false
		}
		member = o[0]
	}
	return member, true
}

// insertNew writes the new records settle placed, and the members of their
// own, in multi-row statements: a first sync is mostly such records.
func (a *applier) insertNew(placed []settled) error {
	var members, sources, links []any
	for _, s := range placed {
		if s.member == "" {
			var row []any
			s.member, row = a.allocMember()
			members = append(members, row...)
		}
		src, err := a.nextSource()
		if err != nil {
			return err
		}
		sources = append(sources, a.sourceRow(s.p, s.member, src)...)
		links = a.linkRows(links, s.p, src)
		if err := a.writeRef(s.p, s.member); err != nil {
			return err
		}
		a.res.Written++
	}
	if err := a.insertRows(insertMembers, memberCols, members); err != nil {
		return fmt.Errorf("create members: %w", err)
	}
	if err := a.insertSources(sources); err != nil {
		return fmt.Errorf("records: %w", err)
	}
	if err := a.insertLinks(links); err != nil {
		return fmt.Errorf("link: %w", err)
	}
	return nil
}

// allocMember takes the tenant's next member id; row is its members row.
func (a *applier) allocMember() (id string, row []any) {
	id = MemberID(a.seq)
	row = []any{a.tenant, id, a.seq, a.at}
	a.seq++
	a.res.NewMembers++
	return id, row
}

// newMember creates a member with the tenant's next id.
func (a *applier) newMember() (string, error) {
	id, row := a.allocMember()
	if err := a.insertRows(insertMembers, memberCols, row); err != nil {
		return "", fmt.Errorf("create member: %w", err)
	}
	return id, nil
}

// resolve places changed records (and, with seeds, the records around
// some identifiers) into members: it loads the graph components they touch,
// partitions them under the tenant's rules, and writes what moved.
func (a *applier) resolve(changed []*prepared, seeds []identity.Key) error {
	return a.place(changed, seeds, nil)
}

// place is resolve with the guard of the identifiers in recheck weighed
// again.
func (a *applier) place(changed []*prepared, seeds []identity.Key, recheck map[identity.Key]bool) error {
	if len(changed) == 0 && len(seeds) == 0 {
		return nil
	}
	g := &graph{byID: map[int64]bool{}, guarded: map[identity.Key]bool{}, never: identity.Never{}, recheck: recheck}
	for _, p := range changed {
		n := &gnode{ref: p.ref, kind: p.kind, xref: p.xref, keys: p.keys, p: p}
		if p.old != nil {
			n.id, n.member, n.origin = p.old.id, p.old.member, p.old.origin
			g.byID[n.id] = true
			seeds = append(seeds, p.old.keys...)
		}
		seeds = append(seeds, p.keys...)
		g.nodes = append(g.nodes, n)
	}
	if err := a.expand(g, seeds); err != nil {
		return err
	}
	if err := a.guard(g); err != nil {
		return err
	}
	nodes := g.partitionNodes()
	res := a.rules.Partition(nodes, g.never)
	ids, err := a.assign(g, res)
	if err != nil {
		return err
	}
	if err := a.journalLinks(g, res, ids); err != nil {
		return err
	}
	for i, n := range g.nodes {
		member := ids[res.Group[i]]
		switch {
		case n.p != nil:
			if err := a.write(n.p, member); err != nil {
				return err
			}
			a.res.Written++
		case n.member != member:
			if err := a.move(n, member); err != nil {
				return fmt.Errorf("move record %s: %w", n.ref.id, err)
			}
		}
	}
	if err := a.conflicts(g, res, ids); err != nil {
		return err
	}
	return a.recheck(guardedToRecheck(g, res, changed))
}

// recheck weighs the guard of guarded identifiers again: it resolves their
// records with them counted anew, and releases those no longer above the
// limit.
func (a *applier) recheck(keys map[identity.Key]bool) error {
	if len(keys) == 0 {
		return nil
	}
	seeds := slices.Collect(maps.Keys(keys))
	slices.SortFunc(seeds, func(x, y identity.Key) int { return cmp.Compare(x.String(), y.String()) })
	return a.place(nil, seeds, keys)
}

// guardedToRecheck returns the guarded identifiers carried by groups that
// joined two or more members, and those a changed record no longer
// carries. Either may leave an identifier's records in no more members
// than the guard allows: had the evidence arrived in one sync, the guard
// would not have stopped it, so it is weighed again. Only the first pass
// has changed records; each later one follows a pass that merged members,
// and members are finite, so the passes end.
func guardedToRecheck(g *graph, res identity.Result, changed []*prepared) map[identity.Key]bool {
	if len(g.guarded) == 0 {
		return nil
	}
	out := map[identity.Key]bool{}
	for _, p := range changed {
		if p.old != nil {
			for _, k := range p.old.keys {
				if g.guarded[k] && !slices.Contains(p.keys, k) {
					out[k] = true
				}
			}
		}
	}
	first := make([]string, res.Groups)
	merged := make([]bool, res.Groups)
	for i, n := range g.nodes {
		gr := res.Group[i]
		switch {
		case n.member == "":
		case first[gr] == "":
			first[gr] = n.member
		case first[gr] != n.member:
			merged[gr] = true
		}
	}
	for i, n := range g.nodes {
		if !merged[res.Group[i]] {
			continue
		}
		for _, k := range n.keys {
			if g.guarded[k] {
				out[k] = true
			}
		}
	}
	return out
}

// partitionNodes renders the graph for identity.Partition: guarded
// identifiers link nothing.
func (g *graph) partitionNodes() []identity.Node {
	out := make([]identity.Node, len(g.nodes))
	for i, n := range g.nodes {
		keys := n.keys
		if len(g.guarded) > 0 {
			keys = slices.DeleteFunc(slices.Clone(keys), func(k identity.Key) bool { return g.guarded[k] })
		}
		out[i] = identity.Node{Order: n.ref.order(), Keys: keys, Member: n.member}
	}
	return out
}

// expand loads every stored record reachable from seeds through identifiers
// that link (guarded ones do not), breadth first, one query per chunk of a
// level's identifiers.
func (a *applier) expand(g *graph, seeds []identity.Key) error {
	visited := map[identity.Key]bool{}
	frontier := uniqueKeys(seeds, visited)
	for len(frontier) > 0 {
		for _, k := range frontier {
			visited[k] = true
		}
		err := a.loadGuarded(keyArgs(frontier), func(s string) error {
			k, err := identity.ParseKey(s)
			if !g.recheck[k] {
				g.guarded[k] = true
			}
			return err
		})
		if err != nil {
			return err
		}
		if err := a.loadNever(g, frontier); err != nil {
			return err
		}
		var follow []any
		for _, k := range frontier {
			if !g.guarded[k] && !a.unheld[k.String()] {
				follow = append(follow, k.String())
			}
		}
		var ids []any
		err = a.inChunks(follow, func(part []any) error {
			args := append([]any{a.tenant}, part...)
			return a.each(`SELECT src FROM identifier_links WHERE tenant = ? AND ikey IN (`+placeholders(len(part))+`)`, args, func(r *sql.Rows) error {
				var id int64
				if err := r.Scan(&id); err != nil {
					return err
				}
				if !g.byID[id] {
					g.byID[id] = true
					ids = append(ids, id)
				}
				return nil
			})
		})
		if err != nil {
			return fmt.Errorf("load links: %w", err)
		}
		loaded, err := a.loadNodes(ids)
		if err != nil {
			return err
		}
		var next []identity.Key
		for _, n := range loaded {
			g.nodes = append(g.nodes, n)
			next = append(next, n.keys...)
		}
		frontier = uniqueKeys(next, visited)
	}
	return nil
}

func uniqueKeys(keys []identity.Key, skip map[identity.Key]bool) []identity.Key {
	seen := map[identity.Key]bool{}
	var out []identity.Key
	for _, k := range keys {
		if !skip[k] && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// loadNodes reads stored records by id.
func (a *applier) loadNodes(ids []any) ([]*gnode, error) {
	var out []*gnode
	err := a.inChunks(ids, func(part []any) error {
		return a.each(`SELECT id, connection, stream, record_id, kind, ref, member_id, COALESCE(origin, ''), keys FROM sources WHERE id IN (`+placeholders(len(part))+`)`, part, func(r *sql.Rows) error {
			n := &gnode{}
			var keys string
			if err := r.Scan(&n.id, &n.ref.conn, &n.ref.stream, &n.ref.id, &n.kind, &n.xref, &n.member, &n.origin, &keys); err != nil {
				return err
			}
			var err error
			n.keys, err = parseKeys(keys)
			out = append(out, n)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load records: %w", err)
	}
	return out, nil
}

// loadGuarded calls mark with each of keys (as Key.String renders them)
// that the shared guard stopped.
func (a *applier) loadGuarded(keys []any, mark func(ikey string) error) error {
	if !a.has.shared {
		return nil
	}
	return a.inChunks(keys, func(part []any) error {
		args := append([]any{a.tenant}, part...)
		return a.each(`SELECT ikey FROM identity_shared WHERE tenant = ? AND ikey IN (`+placeholders(len(part))+`)`, args, func(r *sql.Rows) error {
			var s string
			if err := r.Scan(&s); err != nil {
				return err
			}
			return mark(s)
		})
	})
}

func (a *applier) loadNever(g *graph, keys []identity.Key) error {
	if !a.has.never {
		return nil
	}
	return a.inChunks(keyArgs(keys), func(part []any) error {
		args := append([]any{a.tenant}, part...)
		return a.each(`SELECT ikey, partner FROM identity_never WHERE tenant = ? AND ikey IN (`+placeholders(len(part))+`)`, args, func(r *sql.Rows) error {
			var x, y string
			if err := r.Scan(&x, &y); err != nil {
				return err
			}
			kx, err := identity.ParseKey(x)
			if err != nil {
				return err
			}
			ky, err := identity.ParseKey(y)
			g.never.Add(kx, ky)
			return err
		})
	})
}

func keyArgs(keys []identity.Key) []any {
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k.String()
	}
	return out
}

// guard applies the shared-identifier guard: an identifier carried by more
// records than the limit is counted for the members its records would form
// without it; above the limit it stops linking and is reported. The graph
// holds every record of each identifier that still links (expand followed
// them all), so the counts are exact. An identifier rechecked and no longer
// above the limit is released: it links again from here on.
func (a *applier) guard(g *graph) error {
	limit := a.rules.SharedLimit
	count := map[identity.Key]int{}
	for _, n := range g.nodes {
		for _, k := range n.keys {
			if !g.guarded[k] {
				count[k]++
			}
		}
	}
	candidates := map[identity.Key]bool{}
	for k, c := range count {
		if c > limit && identity.Guardable(k.Type) {
			candidates[k] = true
		}
	}
	maps.Copy(candidates, g.recheck)
	members := map[identity.Key]int{}
	if len(candidates) > 0 {
		members = a.rules.Shared(g.partitionNodes(), candidates, g.never)
	}
	var shared, released []identity.Key
	for k, m := range members {
		if m > limit {
			shared = append(shared, k)
		}
	}
	for k := range g.recheck {
		if members[k] <= limit {
			released = append(released, k)
		}
	}
	byString := func(x, y identity.Key) int { return cmp.Compare(x.String(), y.String()) }
	slices.SortFunc(shared, byString)
	slices.SortFunc(released, byString)
	for _, k := range shared {
		g.guarded[k] = true
		if g.recheck[k] {
			// Still shared: only its count moves.
			if err := a.exec(`UPDATE identity_shared SET members = ? WHERE tenant = ? AND ikey = ?`, members[k], a.tenant, k.String()); err != nil {
				return fmt.Errorf("guard: %w", err)
			}
			continue
		}
		if err := a.exec(`INSERT OR REPLACE INTO identity_shared (tenant, ikey, members, since) VALUES (?, ?, ?, ?)`, a.tenant, k.String(), members[k], a.at); err != nil {
			return fmt.Errorf("guard: %w", err)
		}
		detail := fmt.Sprintf("carried by records of %d otherwise unrelated members (limit %d): it no longer links", members[k], limit)
		if err := a.journal("shared", "", "", k, recRef{}, recRef{}, "shared_limit", detail); err != nil {
			return err
		}
		a.has.shared = true
	}
	for _, k := range released {
		if err := a.exec(`DELETE FROM identity_shared WHERE tenant = ? AND ikey = ?`, a.tenant, k.String()); err != nil {
			return fmt.Errorf("guard: release: %w", err)
		}
		detail := fmt.Sprintf("merges left its records in %d otherwise unrelated members (limit %d): it links again", members[k], limit)
		if err := a.journal("released", "", "", k, recRef{}, recRef{}, "shared_limit", detail); err != nil {
			return err
		}
	}
	return nil
}

// assign gives each group of the partition a member id. A group first takes
// the oldest id it founded: an id whose founder (the oldest record first
// given that id) it holds, a current member or an alias of one of them.
// So the oldest member survives a merge, and when a split (an unmerge)
// parts a member's records, an id merged away earlier comes back to its
// own records. A group that founded none takes the oldest of its current
// members that no older group took, else a new id. Members left without
// records become aliases of where their records went; aliases not taken
// follow their founder's group.
func (a *applier) assign(g *graph, res identity.Result) ([]string, error) {
	cands := make([][]string, res.Groups)
	founded := make([][]string, res.Groups)
	var all []any
	seen := map[string]bool{}
	note := func(id string) {
		if !seen[id] {
			seen[id] = true
			all = append(all, id)
		}
	}
	founder := map[string]int64{}
	founderGroup := map[string]int{}
	current := map[string]bool{}
	for i, n := range g.nodes {
		if n.origin != "" && n.id != 0 {
			if f, ok := founder[n.origin]; !ok || n.id < f {
				founder[n.origin], founderGroup[n.origin] = n.id, res.Group[i]
			}
			note(n.origin)
		}
		if n.member == "" {
			continue
		}
		gi := res.Group[i]
		if !slices.Contains(cands[gi], n.member) {
			cands[gi] = append(cands[gi], n.member)
		}
		current[n.member] = true
		note(n.member)
	}
	seq := map[string]int64{}
	mergedInto := map[string]string{}
	err := a.inChunks(all, func(part []any) error {
		args := append([]any{a.tenant}, part...)
		return a.each(`SELECT member_id, seq, COALESCE(merged_into, '') FROM members WHERE tenant = ? AND erased_at IS NULL AND member_id IN (`+placeholders(len(part))+`)`, args, func(r *sql.Rows) error {
			var id, into string
			var s int64
			err := r.Scan(&id, &s, &into)
			seq[id], mergedInto[id] = s, into
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load members: %w", err)
	}
	// An origin counts when it is one of the component's members, or an
	// alias of one (not an erased member, not someone else's alias).
	for id, gi := range founderGroup {
		if _, ok := seq[id]; ok && (current[id] || current[mergedInto[id]]) {
			founded[gi] = append(founded[gi], id)
		}
	}
	byAge := func(x, y string) int { return cmp.Or(cmp.Compare(seq[x], seq[y]), cmp.Compare(x, y)) }
	order := make([]int, res.Groups)
	for gi := range order {
		order[gi] = gi
		slices.SortFunc(cands[gi], byAge)
		slices.SortFunc(founded[gi], byAge)
	}
	oldest := func(gi int) (int64, bool) {
		switch {
		case len(founded[gi]) > 0:
			return seq[founded[gi][0]], true
		case len(cands[gi]) > 0:
			return seq[cands[gi][0]], true
		}
		return 0, false
	}
	slices.SortStableFunc(order, func(x, y int) int {
		sx, okx := oldest(x)
		sy, oky := oldest(y)
		switch {
		case okx && oky:
			return cmp.Compare(sx, sy)
		case okx:
			return -1
		case oky:
			return 1
		}
		return 0
	})
	ids := make([]string, res.Groups)
	taken := map[string]bool{}
	for _, gi := range order {
		if len(founded[gi]) > 0 {
			ids[gi], taken[founded[gi][0]] = founded[gi][0], true
		}
	}
	for _, gi := range order {
		if ids[gi] != "" {
			continue
		}
		for _, c := range cands[gi] {
			if !taken[c] {
				ids[gi], taken[c] = c, true
				break
			}
		}
		if ids[gi] == "" {
			id, err := a.newMember()
			if err != nil {
				return nil, err
			}
			ids[gi] = id
			if len(cands[gi]) > 0 {
				// Split off from a member that kept its id in another group.
				if err := a.journal("split", cands[gi][0], ids[gi], identity.Key{}, recRef{}, recRef{}, "", "records no longer linked to "+cands[gi][0]+" form a member of their own"); err != nil {
					return nil, err
				}
			}
		}
	}
	// Aliases taken back, and aliases that follow their founder's group.
	for gi, ids0 := range founded {
		for _, id := range ids0 {
			if current[id] || mergedInto[id] == ids[gi] {
				continue
			}
			into := ids[gi]
			if id == into {
				into = ""
			}
			if err := a.exec(`UPDATE members SET merged_into = NULLIF(?, '') WHERE tenant = ? AND member_id = ?`, into, a.tenant, id); err != nil {
				return nil, fmt.Errorf("alias %s: %w", id, err)
			}
			// The hub's tags set on id follow it.
			if err := a.exec(`UPDATE member_tags SET member_id = ? WHERE tenant = ? AND origin = ? AND origin != member_id`, ids[gi], a.tenant, id); err != nil {
				return nil, fmt.Errorf("tags of %s: %w", id, err)
			}
			if into == "" {
				if err := a.journal("split", mergedInto[id], id, identity.Key{}, recRef{}, recRef{}, "", "the records "+id+" was first given are no longer linked to "+mergedInto[id]+": "+id+" is their member again"); err != nil {
					return nil, err
				}
			}
		}
	}
	// Members that lost every record merge into the group that holds the
	// first of them.
	for i, n := range g.nodes {
		if n.member == "" || taken[n.member] {
			continue
		}
		into := ids[res.Group[i]]
		taken[n.member] = true
		if err := a.mergeMember(n.member, into, g, res); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// mergeMember makes from an alias of into, moves the hub's own data of from
// (tags, keeping the member each was set on; queued write-backs) to into
// and journals the evidence.
func (a *applier) mergeMember(from, into string, g *graph, res identity.Result) error {
	for _, q := range []string{
		`UPDATE OR IGNORE member_tags SET member_id = ?1 WHERE tenant = ?2 AND member_id = ?3`,
		`DELETE FROM member_tags WHERE tenant = ?2 AND member_id = ?3`,
		`UPDATE outbox SET member_id = ?1 WHERE tenant = ?2 AND member_id = ?3 AND status = 'pending'`,
		`UPDATE members SET merged_into = ?1 WHERE tenant = ?2 AND (member_id = ?3 OR merged_into = ?3)`,
	} {
		if err := a.exec(q, into, a.tenant, from); err != nil {
			return fmt.Errorf("merge %s into %s: %w", from, into, err)
		}
	}
	a.res.Merges++
	// Evidence: the first link that joined a record of from to the others.
	for _, j := range res.Joins {
		if len(j.A) > 0 && len(j.B) > 0 && (slices.Contains(j.A, from) || slices.Contains(j.B, from)) {
			// Name the record that brought the evidence: a changed one.
			by, other := g.nodes[j.Node], g.nodes[j.With]
			if other.p != nil && by.p == nil {
				by, other = other, by
			}
			ref := by.ref
			detail := fmt.Sprintf("record %s/%s/%s carries %s, which %s/%s/%s also carries", ref.conn, ref.stream, ref.id, j.Key.Type, other.ref.conn, other.ref.stream, other.ref.id)
			return a.journal("merge", into, from, j.Key, ref, other.ref, "link:"+string(j.Key.Type), detail)
		}
	}
	return a.journal("merge", into, from, identity.Key{}, recRef{}, recRef{}, "records_moved", "every record of "+from+" now belongs to "+into)
}

// journalLinks records each new record that joined a current member,
// with the identifier that carried it there.
func (a *applier) journalLinks(g *graph, res identity.Result, ids []string) error {
	for _, j := range res.Joins {
		if len(j.A) > 0 && len(j.B) > 0 {
			continue // a merge: journaled by mergeMember
		}
		added, held := g.nodes[j.Node], g.nodes[j.With]
		if len(j.B) > 0 {
			added, held = held, added
		}
		detail := fmt.Sprintf("record %s/%s/%s carries %s, which %s/%s/%s of the member carries", added.ref.conn, added.ref.stream, added.ref.id, j.Key.Type, held.ref.conn, held.ref.stream, held.ref.id)
		if err := a.journal("link", ids[res.Group[j.Node]], "", j.Key, added.ref, held.ref, "link:"+string(j.Key.Type), detail); err != nil {
			return err
		}
	}
	return nil
}

// journal appends an identity event about ref's record; a link or merge
// names a second record in its detail: named.
func (a *applier) journal(kind, member, other string, k identity.Key, ref, named recRef, rule, detail string) error {
	ikey, namedKey := "", ""
	if k.Type != "" {
		ikey = k.String()
	}
	if named != (recRef{}) {
		namedKey = named.order()
	}
	if err := a.exec(`INSERT INTO identity_journal (tenant, at, kind, member_id, other_id, ikey, connection, stream, record_id, other_record, rule, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.tenant, a.at, kind, member, other, ikey, ref.conn, ref.stream, ref.id, namedKey, rule, detail); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// conflicts replaces the refused merges of the resolved records with the
// partition's, journaling the new ones.
func (a *applier) conflicts(g *graph, res identity.Result, ids []string) error {
	if !a.has.conflicts && len(res.Conflicts) == 0 {
		return nil
	}
	type ckey struct {
		ref recRef
		key string
	}
	old := map[ckey]bool{}
	if a.has.conflicts {
		var members []any
		seen := map[string]bool{}
		for _, n := range g.nodes {
			if n.member != "" && !seen[n.member] {
				seen[n.member] = true
				members = append(members, n.member)
			}
		}
		err := a.inChunks(members, func(part []any) error {
			args := append([]any{a.tenant}, part...)
			err := a.each(`SELECT connection, stream, record_id, ikey FROM identity_conflicts WHERE tenant = ? AND member_id IN (`+placeholders(len(part))+`)`, args, func(r *sql.Rows) error {
				var c ckey
				err := r.Scan(&c.ref.conn, &c.ref.stream, &c.ref.id, &c.key)
				old[c] = true
				return err
			})
			if err != nil {
				return err
			}
			return a.exec(`DELETE FROM identity_conflicts WHERE tenant = ? AND member_id IN (`+placeholders(len(part))+`)`, args...)
		})
		if err != nil {
			return fmt.Errorf("conflicts: %w", err)
		}
	}
	for _, c := range res.Conflicts {
		n := g.nodes[c.Node]
		member, other := ids[res.Group[c.Node]], ids[res.Group[c.With]]
		if err := a.exec(`INSERT OR REPLACE INTO identity_conflicts (tenant, connection, stream, record_id, ikey, member_id, other_id, rule, since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.tenant, n.ref.conn, n.ref.stream, n.ref.id, c.Key.String(), member, other, c.Rule, a.at); err != nil {
			return fmt.Errorf("conflict: %w", err)
		}
		if old[ckey{n.ref, c.Key.String()}] {
			continue
		}
		detail := fmt.Sprintf("record %s/%s/%s carries %s, which %s holds; joining %s to it would break %s", n.ref.conn, n.ref.stream, n.ref.id, c.Key.Type, other, member, c.Rule)
		if err := a.journal("refused", member, other, c.Key, n.ref, recRef{}, c.Rule, detail); err != nil {
			return err
		}
	}
	a.has.conflicts = a.has.conflicts || len(res.Conflicts) > 0
	return nil
}
