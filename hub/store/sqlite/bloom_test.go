package sqlite

import (
	"errors"
	"fmt"
	"testing"
)

// A bloom filter never forgets a key, through the layers it grows, and
// holds few keys it was not given.
func TestBloomHoldsEveryKeyAndFewOthers(t *testing.T) {
	const n = 300_000
	b := newBloom(1000, maxFilterKeys)
	for i := range n {
		if !b.add(fmt.Sprintf("phone::%064d", i)) {
			t.Fatalf("add %d refused", i)
		}
	}
	if len(b.layers) < 5 {
		t.Fatalf("%d layers for %d keys from a first layer of 1000; want it to have grown", len(b.layers), n)
	}
	for i := range n {
		if !b.has(fmt.Sprintf("phone::%064d", i)) {
			t.Fatalf("key %d added but not held", i)
		}
	}
	false_ := 0
	for i := range n {
		if b.has(fmt.Sprintf("phone::%064d", n+i)) {
			false_++
		}
	}
	// A full layer answers about 0.2 % of absent keys wrongly (its bits
	// in one block); the nine layers here add up to about 1.5 %.
	if rate := float64(false_) / n; rate > 0.03 {
		t.Fatalf("false positives %.4f, want under 3 %%", rate)
	}
}

// A filter stops growing at its limit: add says so, and the store then
// keeps none, whether the filter is built from the index or grows as links
// are added.
func TestBloomRefusesPastItsBound(t *testing.T) {
	const limit = 3000
	keys := make([]string, 3*limit)
	for i := range keys {
		keys[i] = fmt.Sprint(i)
	}
	b := newBloom(1000, limit)
	added := 0
	for _, k := range keys {
		if !b.add(k) {
			break
		}
		added++
	}
	if added == len(keys) || b.total != limit {
		t.Fatalf("%d keys added, capacity %d; want a refusal at capacity %d", added, b.total, limit)
	}

	fs := newKeyFilters(0)
	fs.limit = limit
	built := fs.get("built", 3)
	errFull := errors.New("full")
	err := fs.build(built, 1000, 3, func(add func(string) bool) error {
		for _, k := range keys {
			if !add(k) {
				return errFull
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("build stopped by a full filter: %v; want nil", err)
	}
	grown := fs.get("grown", 3)
	if err := fs.build(grown, 0, 3, func(func(string) bool) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if grown.bloom == nil {
		t.Fatal("an empty filter was not kept")
	}
	fs.added(grown, keys, 3, 4)
	for name, f := range map[string]*keyFilter{"built": built, "grown": grown} {
		if f.bloom != nil || !f.off {
			t.Fatalf("%s: a filter past its bound was kept", name)
		}
		if maybe, probes := fs.maybeHeld(f, []any{"x"}); len(maybe) != 1 || probes != 0 {
			t.Fatalf("%s: without a filter: maybe %v, probes %v; want the key looked up and no build", name, maybe, probes)
		}
	}
}
