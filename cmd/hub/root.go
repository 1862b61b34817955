package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// globals are the flags every command shares.
type globals struct {
	config   string
	logLevel string
	profile  string
	stdout   io.Writer
	stderr   io.Writer
}

// logLevels are the levels --log-level and the config's log_level take.
var logLevels = []string{"trace", "debug", "info", "warn", "error"}

// run executes the CLI with explicit arguments and streams; tests drive it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "hub",
		Short:         "channelhub: one member per person across WeChat, WeCom, mini-programs, Taobao, Douyin, Xiaohongshu and SMS",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.config, "config", "hub.yaml", "config file")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "log level: "+strings.Join(logLevels, ", ")+" (default: the config's, else info)")
	root.PersistentFlags().StringVar(&g.profile, "cpuprofile", "", "write a CPU profile of the command to this file (for `go tool pprof`)")
	var profile *os.File
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if g.logLevel != "" && !slices.Contains(logLevels, g.logLevel) {
			return fmt.Errorf("--log-level %q: want one of %s", g.logLevel, strings.Join(logLevels, ", "))
		}
		if g.profile == "" {
			return nil
		}
		var err error
		if profile, err = os.Create(g.profile); err != nil {
			return fmt.Errorf("cpuprofile: %w", err)
		}
		return pprof.StartCPUProfile(profile)
	}
	defer func() {
		if profile != nil {
			pprof.StopCPUProfile()
			profile.Close()
		}
	}()
	root.AddCommand(
		syncCmd(g), serveCmd(g), jobsCmd(g), connectionsCmd(g), pluginsCmd(g), membersCmd(g), identityCmd(g), ordersCmd(g), smsCmd(g), sandboxCmd(g), demoCmd(g), benchCmd(g),
	)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}
