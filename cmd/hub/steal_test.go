package main

import (
	"os"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	for _, tc := range []struct {
		name         string
		stat         string
		steal, total uint64
		ok           bool
	}{
		{"linux", "cpu  105511 54 42333 278103 3474 0 1210 4426 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n", 4426, 105511 + 54 + 42333 + 278103 + 3474 + 0 + 1210 + 4426, true},
		{"guest not counted twice", "cpu  10 0 10 70 0 0 0 10 5 5\n", 10, 100, true},
		{"old kernel without steal", "cpu  10 0 10 70 0 0 0\n", 0, 0, false},
		{"per-cpu line first", "cpu0 10 0 10 70 0 0 0 10 0 0\n", 0, 0, false},
		{"not a number", "cpu  10 0 10 70 0 0 0 x 0 0\n", 0, 0, false},
		{"empty", "", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steal, total, ok := parseProcStat([]byte(tc.stat))
			if steal != tc.steal || total != tc.total || ok != tc.ok {
				t.Errorf("parseProcStat = %d, %d, %v; want %d, %d, %v", steal, total, ok, tc.steal, tc.total, tc.ok)
			}
		})
	}
}

func TestStealMeterReadsThisMachine(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc/stat here: steal is read on Linux only")
	}
	m := startSteal()
	if !m.ok || m.total == 0 {
		t.Fatalf("startSteal = %+v, want the counters of /proc/stat", m)
	}
	// Spin until the kernel's tick has counted some CPU time.
	for s := startSteal(); s.total == m.total; s = startSteal() {
	}
	share, ok := m.share()
	if !ok || share < 0 || share > 1 {
		t.Errorf("share = %v, %v; want a share between 0 and 1", share, ok)
	}
}
