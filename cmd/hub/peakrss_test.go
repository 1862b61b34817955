package main

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
)

func TestParseHWM(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string
		want   int64
		ok     bool
	}{
		{"linux", "Name:\thub\nVmPeak:\t  812345 kB\nVmHWM:\t  204704 kB\nVmRSS:\t  198424 kB\n", 204704 << 10, true},
		{"missing", "Name:\thub\nVmRSS:\t  198424 kB\n", 0, false},
		{"not a number", "VmHWM:\t  lots kB\n", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseHWM([]byte(tc.status))
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseHWM = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// A small child of a large parent: its rusage says the parent's peak
// (Linux carries it across vfork+exec), its VmHWM says its own.
func TestWatchPeakRSSIsTheChildsOwn(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc here: peak RSS is measured from /proc/PID/status on Linux only")
	}
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep command to run as the child")
	}
	ballast := make([]byte, 256<<20)
	for i := 0; i < len(ballast); i += 4096 {
		ballast[i] = 1
	}
	cmd := exec.Command("sleep", "0.3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	peak := watchPeakRSS(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	got := peak()
	runtime.KeepAlive(ballast)
	if got <= 0 || got > 64<<20 {
		t.Errorf("child's peak RSS = %d bytes, want the sleep's own few MB (the parent holds 256 MiB)", got)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		t.Logf("child's rusage maxrss: %d MB; its VmHWM: %d MB", ru.Maxrss>>10, got>>20)
	}
}
