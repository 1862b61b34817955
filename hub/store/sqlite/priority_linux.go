package sqlite

import "syscall"

// backgroundNice is the nice value of the background checkpoint's thread:
// it gets about a tenth of the CPU that a thread at the default 0 gets
// when both want it.
const backgroundNice = 10

// background lowers the calling OS thread's CPU priority to backgroundNice
// and reports whether it did. Linux keeps a nice value per thread, so the
// rest of the process keeps its own. It leaves the process's main thread
// as it is: the Go runtime parks that thread, instead of ending it, when a
// goroutine locked to it exits, so it would stay at the lower priority
// after the store closed. Failing to lower it changes nothing but speed.
func background() bool {
	tid := syscall.Gettid()
	if tid == syscall.Getpid() {
		return false
	}
	return syscall.Setpriority(syscall.PRIO_PROCESS, tid, backgroundNice) == nil
}
