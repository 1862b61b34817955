package sandbox

import (
	"cmp"
	"slices"
	"sort"
)

// index keeps order positions sorted by (key, tie): the order a list call
// pages through. tie breaks equal times by the order of the change that set
// them, so an order changed now sorts after every other order stamped with
// the same millisecond. Guarded by Server.mu.
type index struct {
	ids []int32
	key func(int32) int64
	tie func(int32) int64
}

func (x *index) compare(a, b int32) int {
	if c := cmp.Compare(x.key(a), x.key(b)); c != 0 {
		return c
	}
	return cmp.Compare(x.tie(a), x.tie(b))
}

// sort orders ids after a bulk append.
func (x *index) sort() { slices.SortFunc(x.ids, x.compare) }

// find returns where id sits (or would sit) given its current key and tie.
func (x *index) find(id int32) int {
	return sort.Search(len(x.ids), func(i int) bool { return x.compare(x.ids[i], id) >= 0 })
}

// insert adds id, whose key and tie must already be current.
func (x *index) insert(id int32) {
	x.ids = slices.Insert(x.ids, x.find(id), id)
}

// remove drops id, whose key and tie must not have changed since it was
// inserted.
func (x *index) remove(id int32) {
	if i := x.find(id); i < len(x.ids) && x.ids[i] == id {
		x.ids = slices.Delete(x.ids, i, i+1)
	}
}

// span returns the positions [i, j) of ids whose key is in [lo, hi].
func (x *index) span(lo, hi int64) (int, int) {
	i := sort.Search(len(x.ids), func(i int) bool { return x.key(x.ids[i]) >= lo })
	j := sort.Search(len(x.ids), func(i int) bool { return x.key(x.ids[i]) > hi })
	return i, max(i, j)
}
