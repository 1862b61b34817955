//go:build !unix

package sdk

// guardStdout is a no-op where file descriptors cannot be duplicated.
func guardStdout() {}
