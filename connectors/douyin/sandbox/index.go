package sandbox

import (
	"cmp"
	"slices"
	"sort"
)

// updateIndex orders the orders by update time so that a page of an
// update-time window costs O(size·log n), however many orders there are.
//
// Entries are (update time, order) in non-decreasing time; updating an order
// appends a new entry and marks the old one dead. A Fenwick tree over the
// entries counts the live ones, which gives a window's total and the k-th
// live entry in O(log n). Dead entries are dropped when the arrays fill up.
type updateIndex struct {
	ts   []int64 // entry update time, Unix seconds, non-decreasing
	ord  []int32 // entry order index
	tree []int32 // Fenwick tree of live flags, 1-based, len cap+1
	pos  []int32 // order index → its live entry
}

// build indexes orders whose update times are updated[i].
func (x *updateIndex) build(updated []int64) {
	n := len(updated)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		return cmp.Or(cmp.Compare(updated[a], updated[b]), cmp.Compare(a, b))
	})
	capacity := 2*n + 1024
	x.ts = make([]int64, n, capacity)
	x.ord = make([]int32, n, capacity)
	x.pos = make([]int32, n)
	for p, o := range order {
		x.ts[p], x.ord[p], x.pos[o] = updated[o], o, int32(p)
	}
	x.tree = make([]int32, capacity+1)
	for i := 1; i <= capacity; i++ { // O(n) Fenwick build: ones for the n entries
		if i <= n {
			x.tree[i]++
		}
		if j := i + i&-i; j <= capacity {
			x.tree[j] += x.tree[i]
		}
	}
}

// move records that order o was updated at t (t is clamped to be no earlier
// than the newest entry, so entries stay sorted).
func (x *updateIndex) move(o int32, t int64) {
	if n := len(x.ts); n > 0 && t < x.ts[n-1] {
		t = x.ts[n-1]
	}
	if len(x.ts) == cap(x.ts) {
		x.compact()
	}
	x.add(int(x.pos[o]), -1)
	p := len(x.ts)
	x.ts = append(x.ts, t)
	x.ord = append(x.ord, o)
	x.pos[o] = int32(p)
	x.add(p, 1)
}

// compact rebuilds the index from the live entries.
func (x *updateIndex) compact() {
	updated := make([]int64, len(x.pos))
	for o, p := range x.pos {
		updated[o] = x.ts[p]
	}
	x.build(updated)
}

func (x *updateIndex) add(p, d int) {
	for i := p + 1; i < len(x.tree); i += i & -i {
		x.tree[i] += int32(d)
	}
}

// prefix counts live entries in [0, p).
func (x *updateIndex) prefix(p int) int {
	s := 0
	for i := p; i > 0; i -= i & -i {
		s += int(x.tree[i])
	}
	return s
}

// kth returns the position of the k-th live entry (0-based).
func (x *updateIndex) kth(k int) int {
	p, step := 0, 1
	for step*2 < len(x.tree) {
		step *= 2
	}
	for ; step > 0; step /= 2 {
		if q := p + step; q < len(x.tree) && int(x.tree[q]) <= k {
			p, k = q, k-int(x.tree[q])
		}
	}
	return p // 1-based p+1 holds it, i.e. 0-based p
}

// window returns the live entries with start <= time <= end as the number
// of live entries before them and their count.
func (x *updateIndex) window(start, end int64) (before, total int) {
	lo := sort.Search(len(x.ts), func(i int) bool { return x.ts[i] >= start })
	hi := sort.Search(len(x.ts), func(i int) bool { return x.ts[i] > end })
	before = x.prefix(lo)
	return before, x.prefix(hi) - before
}

// at returns the order of the k-th live entry of a window, counted from its
// oldest (asc) or newest end.
func (x *updateIndex) at(before, total, k int, asc bool) int32 {
	if !asc {
		k = total - 1 - k
	}
	return x.ord[x.kth(before+k)]
}

// live calls fn for the live entries of [start, end], oldest first.
func (x *updateIndex) live(start, end int64, fn func(o int32)) {
	lo := sort.Search(len(x.ts), func(i int) bool { return x.ts[i] >= start })
	for p := lo; p < len(x.ts) && x.ts[p] <= end; p++ {
		if o := x.ord[p]; x.pos[o] == int32(p) {
			fn(o)
		}
	}
}

// createIndex orders the orders by create time, which never changes.
type createIndex struct {
	ts  []int64
	ord []int32
}

func (x *createIndex) build(created []int64) {
	x.ord = make([]int32, len(created))
	for i := range x.ord {
		x.ord[i] = int32(i)
	}
	slices.SortFunc(x.ord, func(a, b int32) int {
		return cmp.Or(cmp.Compare(created[a], created[b]), cmp.Compare(a, b))
	})
	x.ts = make([]int64, len(created))
	for p, o := range x.ord {
		x.ts[p] = created[o]
	}
}

// window returns the positions [lo, hi) of create times in [start, end].
func (x *createIndex) window(start, end int64) (lo, hi int) {
	lo = sort.Search(len(x.ts), func(i int) bool { return x.ts[i] >= start })
	hi = sort.Search(len(x.ts), func(i int) bool { return x.ts[i] > end })
	return lo, hi
}
