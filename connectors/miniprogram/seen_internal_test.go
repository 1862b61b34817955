package miniprogram

import (
	"fmt"
	"testing"
	"time"
)

func TestSeenSetClaimsCommitsAndForgets(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	s := newSeenSet(11*time.Minute, 3)
	if !s.claim("a", t0) || s.claim("a", t0) {
		t.Fatal("an id being handled must not be claimed twice")
	}
	s.release("a")
	if !s.claim("a", t0) {
		t.Fatal("a released id is free again")
	}
	s.commit("a", t0)
	if s.claim("a", t0.Add(11*time.Minute)) {
		t.Fatal("an accepted id is refused within the retention")
	}
	if !s.claim("a", t0.Add(11*time.Minute+time.Second)) {
		t.Fatal("an id is forgotten after the retention")
	}
	s.release("a")
	for i := range 5 {
		s.commit(fmt.Sprint(i), t0)
	}
	if s.len() != 3 || s.claim("4", t0) || !s.claim("0", t0) {
		t.Fatalf("capacity: %d ids kept, want the newest 3", s.len())
	}
}
