package engine

import (
	"errors"
	"testing"

	"github.com/channelhub/channelhub/hub/store"
)

// TestGroupWriter: groups are applied in order; the first failure stops the
// writer, is returned by the next send and by close, and no group after it
// is applied.
func TestGroupWriter(t *testing.T) {
	boom := errors.New("disk full")
	var applied []string
	w := startGroupWriter(func(b store.Batch) error {
		if b.Job == "fail" {
			return boom
		}
		applied = append(applied, b.Job)
		return nil
	})
	for _, job := range []string{"a", "b", "fail"} {
		if err := w.send(store.Batch{Job: job}); err != nil {
			t.Fatalf("send %s: %v", job, err)
		}
	}
	// The writer stops at "fail"; a later send learns why, once it has.
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = w.send(store.Batch{Job: "after"})
	}
	if !errors.Is(err, boom) {
		t.Fatalf("send after the failure: %v, want %v", err, boom)
	}
	if err := w.close(); !errors.Is(err, boom) {
		t.Fatalf("close: %v, want %v", err, boom)
	}
	if err := w.close(); !errors.Is(err, boom) {
		t.Fatalf("second close: %v, want %v", err, boom)
	}
	if len(applied) != 2 || applied[0] != "a" || applied[1] != "b" {
		t.Fatalf("applied %v, want [a b]", applied)
	}
}
