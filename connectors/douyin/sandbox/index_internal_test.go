package sandbox

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestUpdateIndexMatchesModel checks the Fenwick-backed index against a
// sorted copy after random moves, including compactions.
func TestUpdateIndexMatchesModel(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	const n = 300
	updated := make([]int64, n)
	for i := range updated {
		updated[i] = r.Int64N(1000)
	}
	var x updateIndex
	x.build(updated)
	clock := int64(1000)
	for round := range 4000 {
		o := int32(r.IntN(n))
		clock += r.Int64N(3)
		updated[o] = clock
		x.move(o, clock)
		if round%250 != 0 {
			continue
		}
		start, end := r.Int64N(clock+1), clock
		if start > end {
			start, end = end, start
		}
		var want []int32
		for i, u := range updated {
			if u >= start && u <= end {
				want = append(want, int32(i))
			}
		}
		slices.SortFunc(want, func(a, b int32) int { return cmp.Compare(updated[a], updated[b]) })
		before, total := x.window(start, end)
		if total != len(want) {
			t.Fatalf("round %d: window [%d,%d] total %d, want %d", round, start, end, total, len(want))
		}
		for k := range total {
			asc, desc := x.at(before, total, k, true), x.at(before, total, k, false)
			if updated[asc] != updated[want[k]] || updated[desc] != updated[want[total-1-k]] {
				t.Fatalf("round %d: k=%d asc %d desc %d out of order", round, k, asc, desc)
			}
		}
		var live []int32
		x.live(start, end, func(o int32) { live = append(live, o) })
		if len(live) != total {
			t.Fatalf("round %d: live walks %d, want %d", round, len(live), total)
		}
	}
}
