package miniprogram

import (
	"fmt"
	"testing"
	"time"

	"github.com/channelhub/channelhub/sdk"
)

func TestSeenSetClaimsCommitsAndForgets(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	s := newSeenSet(11*time.Minute, 3)
	if st, _ := s.claim("a", t0); st != claimed {
		t.Fatal("a new id is claimed")
	}
	if st, _ := s.claim("a", t0); st != handling {
		t.Fatal("an id being handled must not be claimed twice")
	}
	s.release("a")
	if st, _ := s.claim("a", t0); st != claimed {
		t.Fatal("a released id is free again")
	}
	made := []sdk.Record{{ID: "login:o1"}}
	s.commit("a", t0, made)
	if st, recs := s.claim("a", t0.Add(11*time.Minute)); st != accepted || len(recs) != 1 || recs[0].ID != "login:o1" {
		t.Fatalf("an accepted id within the retention = %v %v, want accepted with its records", st, recs)
	}
	if st, _ := s.claim("a", t0.Add(11*time.Minute+time.Second)); st != claimed {
		t.Fatal("an id is forgotten after the retention")
	}
	s.release("a")
	for i := range 5 {
		s.commit(fmt.Sprint(i), t0, nil)
	}
	st4, _ := s.claim("4", t0)
	st0, _ := s.claim("0", t0)
	if s.len() != 3 || st4 != accepted || st0 != claimed {
		t.Fatalf("capacity: %d ids kept, want the newest 3", s.len())
	}
}
