package identity

import (
	"cmp"
	"slices"

	"github.com/channelhub/channelhub/mapping"
)

// Node is one record as evidence: the identifiers it carries.
type Node struct {
	// Order is the record's canonical name (connection, stream, record id).
	// Nodes are considered in this order, never in arrival order, so the
	// same evidence always gives the same partition.
	Order string
	// Keys are the record's usable identifiers (blocked and shared ones
	// already left out).
	Keys []Key
	// Member is the member the record belongs to now; "" for a new record.
	Member string
}

// Never holds identifier pairs that must not be one member: Never[x][y]
// means x was detached from a member holding y. A record carrying both
// keeps y and drops x; a merge bringing them together is refused.
type Never map[Key]map[Key]bool

// Add records that x must never join y.
func (n Never) Add(x, y Key) {
	if n[x] == nil {
		n[x] = map[Key]bool{}
	}
	n[x][y] = true
}

// Join is a link that brought records of different current members, or new
// records and a current member, together: node Node joined node With's
// group through Key. A (With's side) and B (Node's side) are the current
// members on each side; an empty side is new records.
type Join struct {
	Node, With int
	Key        Key
	A, B       []string
}

// Conflict is a link refused: node Node carries Key, which node With's
// group also holds, but joining them would break Rule.
type Conflict struct {
	Node, With int
	Key        Key
	Rule       string
}

// Result is a partition of nodes into members.
type Result struct {
	// Group is each node's group, numbered from 0 in the canonical order of
	// the groups' first nodes.
	Group  []int
	Groups int
	// Joins are the links that merged current members.
	Joins []Join
	// Conflicts are the links refused, with the rule each would break.
	Conflicts []Conflict
}

// Rule names reported in conflicts.
const (
	RuleNeverMerge = "never_merge"
	// RuleLimitPrefix is followed by the identifier type whose limit the
	// merge would break: "limit:wechat_unionid".
	RuleLimitPrefix = "limit:"
)

type typeScope struct {
	t     mapping.IdentityType
	scope string
}

type group struct {
	keys    map[Key]struct{}
	counts  map[typeScope]int
	members []string // sorted current members
	size    int
}

// Partition groups nodes into members: identifiers are taken in order of
// priority (then value), and the groups of the records carrying one become
// one group, unless together they would break a type's limit or a
// never-merge pair: then the identifier is contested, links nothing, and
// each refusal is a conflict. The result depends only on the nodes, not on
// their order.
func (r *Rules) Partition(nodes []Node, never Never) Result {
	order := make([]int, len(nodes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(nodes[a].Order, nodes[b].Order) })

	parent := make([]int, len(nodes))
	groups := make([]*group, len(nodes))
	keyNodes := map[Key][]int{}
	for _, i := range order {
		parent[i] = i
		g := &group{keys: map[Key]struct{}{}, counts: map[typeScope]int{}, size: 1}
		if m := nodes[i].Member; m != "" {
			g.members = []string{m}
		}
		for _, k := range nodes[i].Keys {
			if _, dup := g.keys[k]; dup || dropped(never, k, nodes[i].Keys) {
				continue
			}
			g.keys[k] = struct{}{}
			g.counts[typeScope{k.Type, k.Scope}]++
			keyNodes[k] = append(keyNodes[k], i)
		}
		groups[i] = g
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}

	keys := make([]Key, 0, len(keyNodes))
	for k, ns := range keyNodes {
		if len(ns) > 1 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b Key) int {
		if c := cmp.Compare(r.rule(b.Type).Priority, r.rule(a.Type).Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.String(), b.String())
	})

	var res Result
	for _, k := range keys {
		ns := keyNodes[k]
		// The groups the identifier would join, each with the first of its
		// records (canonical order) that carries it.
		var roots, via []int
		for _, n := range ns {
			if root := find(n); !slices.Contains(roots, root) {
				roots, via = append(roots, root), append(via, n)
			}
		}
		if len(roots) < 2 {
			continue
		}
		// An identifier whose groups cannot all be one member is contested:
		// it links nothing (a family's phone, a mistyped card), so that it
		// cannot join a third record to either side by chance.
		acc := groups[roots[0]].clone()
		contested := false
		for i, root := range roots[1:] {
			if rule := r.refuse(acc, groups[root], never); rule != "" {
				res.Conflicts = append(res.Conflicts, Conflict{Node: via[i+1], With: via[0], Key: k, Rule: rule})
				contested = true
				continue
			}
			acc.absorb(groups[root])
		}
		if contested {
			continue
		}
		for i, root := range roots[1:] {
			a, b := find(via[0]), root
			ga, gb := groups[a], groups[b]
			if (len(ga.members) > 0 || len(gb.members) > 0) && !slices.Equal(ga.members, gb.members) {
				res.Joins = append(res.Joins, Join{Node: via[i+1], With: via[0], Key: k, A: slices.Clone(ga.members), B: slices.Clone(gb.members)})
			}
			// Union by size; the surviving root keeps both groups' data.
			if ga.size < gb.size {
				a, b, ga, gb = b, a, gb, ga
			}
			ga.absorb(gb)
			parent[b] = a
			groups[b] = nil
		}
	}

	res.Group = make([]int, len(nodes))
	number := map[int]int{}
	for _, i := range order {
		root := find(i)
		g, ok := number[root]
		if !ok {
			g = len(number)
			number[root] = g
		}
		res.Group[i] = g
	}
	res.Groups = len(number)
	return res
}

func (g *group) clone() *group {
	c := &group{keys: make(map[Key]struct{}, len(g.keys)), counts: make(map[typeScope]int, len(g.counts)), members: g.members, size: g.size}
	for k := range g.keys {
		c.keys[k] = struct{}{}
	}
	for ts, n := range g.counts {
		c.counts[ts] = n
	}
	return c
}

// absorb adds o's keys, members and size to g.
func (g *group) absorb(o *group) {
	for k := range o.keys {
		if _, ok := g.keys[k]; !ok {
			g.keys[k] = struct{}{}
			g.counts[typeScope{k.Type, k.Scope}]++
		}
	}
	g.members = mergeSorted(g.members, o.members)
	g.size += o.size
}

// dropped reports whether a record's key k is detached from one of the
// record's other keys.
func dropped(never Never, k Key, keys []Key) bool {
	partners := never[k]
	if len(partners) == 0 {
		return false
	}
	for _, o := range keys {
		if partners[o] {
			return true
		}
	}
	return false
}

// refuse returns the rule joining a and b would break, or "".
func (r *Rules) refuse(a, b *group, never Never) string {
	small, large := a, b
	if len(small.keys) > len(large.keys) {
		small, large = large, small
	}
	added := map[typeScope]int{}
	for k := range small.keys {
		if _, ok := large.keys[k]; !ok {
			added[typeScope{k.Type, k.Scope}]++
		}
	}
	var broken []string
	for ts, n := range added {
		if large.counts[ts]+n > r.rule(ts.t).Limit {
			broken = append(broken, RuleLimitPrefix+string(ts.t))
		}
	}
	if len(broken) > 0 {
		slices.Sort(broken)
		return broken[0]
	}
	if len(never) > 0 && (pairs(never, a, b) || pairs(never, b, a)) {
		return RuleNeverMerge
	}
	return ""
}

func pairs(never Never, a, b *group) bool {
	for k := range a.keys {
		for p := range never[k] {
			if _, ok := b.keys[p]; ok {
				return true
			}
		}
	}
	return false
}

func mergeSorted(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// Guardable reports whether the shared guard watches identifiers of type t:
// values people type in (phones, emails, member cards), not ids a platform
// assigns to one account.
func Guardable(t mapping.IdentityType) bool {
	return t == mapping.IDPhone || t == mapping.IDEmail || t == mapping.IDMemberCard
}

// Shared counts, for each candidate key, the otherwise unrelated members its
// records would form if no candidate linked anything: groups that hold some
// other identifier of their own. Records that carry nothing but candidates
// (an order with only the buyer's phone) are no evidence of another person
// and are not counted. The shared guard compares the count with
// SharedLimit. nodes must hold every record that carries a candidate, with
// the records linked to them.
func (r *Rules) Shared(nodes []Node, candidates map[Key]bool, never Never) map[Key]int {
	without := make([]Node, len(nodes))
	for i, n := range nodes {
		without[i] = Node{Order: n.Order, Member: n.Member}
		for _, k := range n.Keys {
			if !candidates[k] {
				without[i].Keys = append(without[i].Keys, k)
			}
		}
	}
	res := r.Partition(without, never)
	identified := map[int]bool{}
	for i, n := range without {
		if len(n.Keys) > 0 {
			identified[res.Group[i]] = true
		}
	}
	seen := map[Key]map[int]bool{}
	for i, n := range nodes {
		g := res.Group[i]
		if !identified[g] {
			continue
		}
		for _, k := range n.Keys {
			if candidates[k] {
				if seen[k] == nil {
					seen[k] = map[int]bool{}
				}
				seen[k][g] = true
			}
		}
	}
	out := map[Key]int{}
	for k := range candidates {
		out[k] = len(seen[k])
	}
	return out
}
