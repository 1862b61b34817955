//go:build !linux

package sqlite

// background does nothing where a thread's priority cannot be set alone,
// and reports that.
func background() bool { return false }
