package sdk

import (
	"testing"

	"github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"
)

// NewTestRemote serves p over an in-memory gRPC connection (go-plugin's test
// pair, broker included) and returns the hub-side client, so a test covers the
// wire mapping without building a binary. host, when not nil, is served to
// the plugin as the hub's services.
func NewTestRemote(t testing.TB, p Plugin, host HostService, tenant, connection string) *Remote {
	t.Helper()
	p.Spec.Protocol = ProtocolVersion
	gp := &grpcPlugin{impl: &p, log: zerolog.Nop(), tenant: tenant, connection: connection, host: host}
	// Closing the client shuts the server down through go-plugin's controller.
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{pluginName: gp})
	t.Cleanup(func() { client.Close() })
	r, err := Dispense(client)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
