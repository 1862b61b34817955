package sdk

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"

	"github.com/channelhub/channelhub/sdk/internal/pb"
)

// Handshake is the go-plugin handshake shared by the hub and every plugin.
// The cookie only guards against running a plugin binary by hand; it is not
// a security measure (the catalog checksum is).
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "CHANNELHUB_PLUGIN",
	MagicCookieValue: "c4a1f0e2-channelhub-connector",
}

// pluginName is the name the connector service is dispensed under.
const pluginName = "connector"

// maxMessage is the gRPC message limit on both sides: a record batch of a
// thousand orders with items fits with a wide margin.
const maxMessage = 64 << 20

// HubPlugins returns the go-plugin plugin sets the hub passes to
// plugin.ClientConfig.VersionedPlugins for one connection. host serves that
// connection's credentials cache and rate budget to the plugin.
func HubPlugins(tenant, connection string, host HostService) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {pluginName: &grpcPlugin{tenant: tenant, connection: connection, host: host}}}
}

// DialOptions are the gRPC options the hub passes to
// plugin.ClientConfig.GRPCDialOptions: raised message limits.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage))}
}

// Dispense returns the connector client of a started go-plugin client.
func Dispense(c plugin.ClientProtocol) (*Remote, error) {
	raw, err := c.Dispense(pluginName)
	if err != nil {
		return nil, fmt.Errorf("dispense connector: %w", err)
	}
	r, ok := raw.(*Remote)
	if !ok {
		return nil, fmt.Errorf("dispense connector: got %T, not a channelhub connector", raw)
	}
	return r, nil
}

// grpcPlugin is the go-plugin glue. The plugin side uses impl and log; the
// hub side uses tenant, connection and host.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl       *Plugin
	log        zerolog.Logger
	tenant     string
	connection string
	host       HostService
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

// GRPCServer registers the connector service (plugin side).
func (p *grpcPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterConnectorServer(s, &server{plugin: p.impl, broker: broker, log: p.log, hosts: map[uint32]HostService{}})
	return nil
}

// GRPCClient builds the hub-side client and starts the Host service on the
// broker so the plugin can call back.
func (p *grpcPlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	r := &Remote{client: pb.NewConnectorClient(conn), tenant: p.tenant, connection: p.connection}
	if p.host != nil {
		r.hostID = broker.NextId()
		hs := &hostServer{svc: p.host}
		go broker.AcceptAndServe(r.hostID, func(opts []grpc.ServerOption) *grpc.Server {
			s := grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage))...)
			pb.RegisterHostServer(s, hs)
			return s
		})
	}
	return r, nil
}
