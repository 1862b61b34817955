// Command hub is channelhub's CLI and daemon: run sync jobs, serve the
// scheduler, look up members, manage plugins, and run the sandboxes and the
// demo. See README.md for the reference.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hub:", err)
		os.Exit(1)
	}
}

// tuneGC sets the collector for a sync's many short-lived objects, unless
// GOGC or GOMEMLIMIT say otherwise: with the default target (100 % of a
// small live heap) the collector runs, and hands memory back to the OS to
// fault it in again, several times a second. The soft limit is a safety
// net well above a sync's heap: a limit near the live heap makes the
// collector run without pause (measured: 100 MiB made a 1M-record sync
// 20 % slower than 256 MiB).
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(256 << 20)
	}
}
