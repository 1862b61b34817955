//go:build unix

package sdk

import (
	"os"

	"golang.org/x/sys/unix"
)

// guardStdout points file descriptor 1 at stderr and keeps the real stdout,
// the handshake pipe, only in os.Stdout for go-plugin. A library that kept
// the old *os.File for stdout (logrus does, from its init) then prints to
// stderr instead of into the handshake.
func guardStdout() {
	real, err := unix.Dup(1)
	if err != nil {
		return
	}
	if err := unix.Dup2(2, 1); err != nil {
		unix.Close(real)
		return
	}
	os.Stdout = os.NewFile(uintptr(real), "/dev/stdout")
}
