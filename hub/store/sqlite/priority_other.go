//go:build !linux

package sqlite

// background does nothing where a thread's priority cannot be set alone.
func background() {}
