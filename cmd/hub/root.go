package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

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
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "log level: debug, info, warn, error (default: the config's, else info)")
	root.PersistentFlags().StringVar(&g.profile, "cpuprofile", "", "write a CPU profile of the command to this file (for `go tool pprof`)")
	var profile *os.File
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
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
