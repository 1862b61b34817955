package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
)

// stealMeter measures the share of the machine's CPU time that its
// hypervisor gave to other guests (steal, in /proc/stat) while a figure was
// measured. On a shared virtual machine it is what makes the same binary
// run a sync in 18 s one hour and in 31 s the next: the bench prints it
// beside its figures so that a slow one can be told from a slow machine.
type stealMeter struct {
	steal, total uint64
	ok           bool
}

// startSteal reads the counters now.
func startSteal() stealMeter {
	var m stealMeter
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		m.steal, m.total, m.ok = parseProcStat(b)
	}
	return m
}

// share returns the steal share of CPU time since m was started, and false
// where /proc/stat cannot be read.
func (m stealMeter) share() (float64, bool) {
	now := startSteal()
	if !m.ok || !now.ok || now.total <= m.total {
		return 0, false
	}
	return float64(now.steal-m.steal) / float64(now.total-m.total), true
}

// parseProcStat returns the steal and the total of the first line of
// /proc/stat ("cpu user nice system idle iowait irq softirq steal ..."),
// in clock ticks. guest and guest_nice are already counted in user and
// nice, so the total is of the first eight.
func parseProcStat(stat []byte) (steal, total uint64, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader(stat))
	if !sc.Scan() {
		return 0, 0, false
	}
	f := bytes.Fields(sc.Bytes())
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0, 0, false
	}
	for i, v := range f[1:9] {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += n
		if i == 7 {
			steal = n
		}
	}
	return steal, total, true
}

// stealText formats a steal share for the bench's table.
func stealText(m stealMeter) string {
	s, ok := m.share()
	if !ok {
		return "n/a"
	}
	return strconv.FormatFloat(s*100, 'f', 0, 64) + " %"
}
