package sdk

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
)

// SpecFlag is the argument that makes a plugin binary print its spec as JSON
// and exit, without the handshake. The hub's catalog is built with it.
const SpecFlag = "--channelhub-spec"

// Serve runs the plugin process: it answers the hub's handshake and serves
// the connector until the hub kills it. It owns the process: it guards stdout
// so that nothing a library prints from then on can break the handshake,
// logs JSON to stderr (forwarded into the hub's log), recovers panics in
// connector code, and exits when the hub that started it is gone. The guard
// starts here: a line printed to stdout before Serve is called (in main or
// an init) breaks the handshake, and the hub refuses the plugin.
//
// Run a plugin binary with SpecFlag to print its spec.
func Serve(p Plugin) {
	p.Spec.Protocol = ProtocolVersion
	if len(os.Args) > 1 && os.Args[1] == SpecFlag {
		if err := json.NewEncoder(os.Stdout).Encode(p.Spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if err := p.Spec.Check(); err != nil {
		fmt.Fprintf(os.Stderr, "invalid connector spec: %v\n", err)
		os.Exit(1)
	}
	if os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue {
		fmt.Fprintf(os.Stderr, "%s is a channelhub connector plugin: the hub starts it. Run it with %s to print its spec.\n", os.Args[0], SpecFlag)
		os.Exit(1)
	}
	guardStdout()
	go watchParent(os.Getppid())

	// The hub reads plugin stderr as hclog JSON: @level and @message, no
	// timestamp (the hub stamps it).
	zerolog.LevelFieldName = "@level"
	zerolog.MessageFieldName = "@message"
	log := zerolog.New(os.Stderr).With().Logger()

	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		// go-plugin's own server log: warnings and errors only.
		Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr, JSONFormat: true}),
		VersionedPlugins: map[int]plugin.PluginSet{
			ProtocolVersion: {pluginName: &grpcPlugin{impl: &p, log: log}},
		},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage))...)
		},
	})
}

// watchParent exits the plugin when the process that started it has gone
// (the hub was killed), so that no plugin is left orphaned.
func watchParent(ppid int) {
	for range time.Tick(250 * time.Millisecond) {
		if os.Getppid() != ppid {
			os.Exit(3)
		}
	}
}
