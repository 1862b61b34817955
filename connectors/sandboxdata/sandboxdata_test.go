package sandboxdata_test

import (
	"reflect"
	"testing"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/mapping"
)

func TestPersonsAreReproducible(t *testing.T) {
	t.Parallel()
	a := sandboxdata.Persons(7, 300)
	b := sandboxdata.Persons(7, 300)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different people")
	}
	if reflect.DeepEqual(a, sandboxdata.Persons(8, 300)) {
		t.Fatal("different seeds gave the same people")
	}
}

func TestPersonsHaveValidDistinctKeys(t *testing.T) {
	t.Parallel()
	people := sandboxdata.Persons(1, 2000)
	phones := map[string]int{}
	unions := map[string]bool{}
	for _, p := range people {
		if _, err := mapping.NormalizePhone(p.Phone); err != nil {
			t.Fatalf("person %d phone %q: %v", p.Index, p.Phone, err)
		}
		phones[p.Phone]++
		if unions[p.UnionID] {
			t.Fatalf("duplicate unionid %q", p.UnionID)
		}
		unions[p.UnionID] = true
	}
	shared := 0
	for _, n := range phones {
		if n > 1 {
			shared++
		}
	}
	if shared != 2000/50-1 {
		t.Fatalf("%d shared phones, want %d families", shared, 2000/50-1)
	}
}
