package sqlite_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// niceThreads returns how many of the process's threads run at nice n.
func niceThreads(t *testing.T, n int) int {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		// The fields after the command's closing parenthesis; nice is the
		// 19th field of the line, the 17th of these.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if v, err := strconv.Atoi(fields[16]); err == nil && v == n {
			count++
		}
	}
	return count
}

// The background checkpoint runs on a thread of its own at nice 10, so
// that it yields the CPU to the writer; the thread ends with the store.
// Stores are opened and closed several times: the runtime parks the main
// thread instead of ending it, so a checkpoint goroutine that happened to
// lower that thread (it did in CI before background left it alone) would
// leave it at nice 10.
func TestCheckpointThreadRunsAtLowerPriority(t *testing.T) {
	before := niceThreads(t, 10)
	for i := range 8 {
		s, _ := open(t)
		deadline := time.Now().Add(5 * time.Second)
		for niceThreads(t, 10) != before+1 {
			if time.Now().After(deadline) {
				t.Fatalf("store %d: %d threads at nice 10 with it open, %d before", i, niceThreads(t, 10), before)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		deadline = time.Now().Add(5 * time.Second)
		for niceThreads(t, 10) != before {
			if time.Now().After(deadline) {
				t.Fatalf("store %d: %d threads at nice 10 after it closed, %d before", i, niceThreads(t, 10), before)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
