package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"time"
)

// watchPeakRSS follows a running process's peak resident set (VmHWM in
// /proc/PID/status) until the function it returns is called; that function
// returns the highest figure seen, in bytes (0 where /proc is not there).
//
// The child's rusage cannot be used for this: os/exec starts a child with
// vfork and exec, and Linux carries the parent's peak RSS into the child's
// maxrss at exec, so a child of a large parent reports the parent's peak.
// VmHWM belongs to the address space exec made, the child's own.
func watchPeakRSS(pid int) func() int64 {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	stop, done := make(chan struct{}), make(chan int64)
	go func() {
		var peak int64
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if hwm, ok := readHWM(path); ok && hwm > peak {
				peak = hwm
			}
			select {
			case <-stop:
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		return <-done
	}
}

// readHWM reads the VmHWM line of a /proc status file, in bytes.
func readHWM(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	return parseHWM(b)
}

func parseHWM(status []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 3 && string(f[0]) == "VmHWM:" && string(f[2]) == "kB" {
			kb, err := strconv.ParseInt(string(f[1]), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
