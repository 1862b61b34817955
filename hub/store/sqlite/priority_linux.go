package sqlite

import "syscall"

// backgroundNice is the nice value of the background checkpoint's thread:
// it gets about a tenth of the CPU that a thread at the default 0 gets
// when both want it.
const backgroundNice = 10

// background lowers the calling OS thread's CPU priority to backgroundNice.
// Linux keeps a nice value per thread, so the rest of the process keeps
// its own. Failing to lower it changes nothing but speed.
func background() { _ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), backgroundNice) }
