// Package plugin runs connector plugins: it keeps the catalog of plugin
// binaries, verifies each binary's checksum before every start, starts one
// process per connection (so a plugin only ever holds its own connection's
// config and data) with only the proxy, CA-certificate and time-zone
// variables of the hub's environment (PluginEnv), restarts a crashed plugin
// with backoff, fails at once on a plugin that breaks its own handshake
// (HandshakeError), and kills every process on shutdown.
package plugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/sdk"
)

// Options configure a Manager. Zero values are the documented defaults.
type Options struct {
	// StartTimeout bounds the handshake of a starting plugin; default 10s.
	StartTimeout time.Duration
	// RestartBackoff is the first wait before restarting a crashed plugin,
	// doubling up to MaxBackoff; defaults 500ms and 30s.
	RestartBackoff, MaxBackoff time.Duration
	// CrashLoop is how many crashes within CrashWindow make a crash loop:
	// further starts fail at once with ClassUnavailable until the window
	// passes (the connection's breaker counts those failures); defaults 5
	// and 5 minutes.
	CrashLoop   int
	CrashWindow time.Duration
	// Dir is the plugins' working directory, so that relative paths in a
	// connection's config (the file connector's path) are taken from it;
	// the hub sets the config file's directory. Empty: the hub's own.
	Dir string
	// LookupEnv reads the hub's environment for the variables plugins get
	// (see PluginEnv); default os.LookupEnv. Tests inject it.
	LookupEnv func(key string) (string, bool)
}

// Manager starts and supervises plugin processes.
type Manager struct {
	catalog *Catalog
	log     zerolog.Logger
	opts    Options

	mu        sync.Mutex
	instances map[string]*Instance
}

// NewManager returns a Manager for a catalog.
func NewManager(c *Catalog, log zerolog.Logger, opts Options) *Manager {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.RestartBackoff == 0 {
		opts.RestartBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.CrashLoop == 0 {
		opts.CrashLoop = 5
	}
	if opts.CrashWindow == 0 {
		opts.CrashWindow = 5 * time.Minute
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	return &Manager{catalog: c, log: log, opts: opts, instances: map[string]*Instance{}}
}

// Catalog returns the manager's catalog.
func (m *Manager) Catalog() *Catalog { return m.catalog }

// Instance is the plugin process serving one connection. It is started on
// first use and restarted when it has died.
type Instance struct {
	m          *Manager
	entry      Entry
	tenant     string
	connection string
	host       sdk.HostService
	log        zerolog.Logger

	mu      sync.Mutex
	client  *goplugin.Client
	remote  *sdk.Remote
	crashes []time.Time
	starts  int
}

// Instance returns the instance for a connection, creating its handle (the
// process starts on the first Remote call).
func (m *Manager) Instance(tenant, connection, connector string, host sdk.HostService) (*Instance, error) {
	e, ok := m.catalog.Lookup(connector)
	if !ok {
		return nil, sdk.ConfigError("connector", "no plugin named %q in the catalog at %s (have %v)", connector, m.catalog.Dir, m.catalog.Names())
	}
	key := tenant + "/" + connection
	m.mu.Lock()
	defer m.mu.Unlock()
	if inst, ok := m.instances[key]; ok {
		return inst, nil
	}
	inst := &Instance{m: m, entry: e, tenant: tenant, connection: connection, host: host,
		log: m.log.With().Str("plugin", e.Name).Str("tenant", tenant).Str("connection", connection).Logger()}
	m.instances[key] = inst
	return inst, nil
}

// Remote returns a live client for the plugin, starting or restarting its
// process as needed.
func (i *Instance) Remote(ctx context.Context) (*sdk.Remote, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.client != nil && !i.client.Exited() {
		return i.remote, nil
	}
	now := time.Now()
	if i.client != nil {
		// It died under us: count a crash and back off before restarting.
		i.client.Kill()
		i.client = nil
		i.crashes = append(i.crashes, now)
		i.log.Warn().Int("crashes", len(i.crashes)).Msg("plugin process exited; restarting")
	}
	recent := i.crashes[:0]
	for _, t := range i.crashes {
		if now.Sub(t) < i.m.opts.CrashWindow {
			recent = append(recent, t)
		}
	}
	i.crashes = recent
	if len(i.crashes) >= i.m.opts.CrashLoop {
		return nil, sdk.UnavailableError(nil, "plugin %s is crash-looping (%d crashes in %s)", i.entry.Name, len(i.crashes), i.m.opts.CrashWindow)
	}
	if n := len(i.crashes); n > 0 {
		wait := min(i.m.opts.RestartBackoff<<(n-1), i.m.opts.MaxBackoff)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := i.start(); err != nil {
		// A plugin that cannot start for good (its own stdout broke the
		// handshake) is not crashing: it fails the same way every time.
		if sdk.ClassOf(err) != sdk.ClassPermanent {
			i.crashes = append(i.crashes, time.Now())
		}
		return nil, err
	}
	return i.remote, nil
}

// passedEnv are the environment variables of the hub that plugins get: what
// reaching a platform needs (proxies, CA certificates, time zone). Nothing
// else of the hub's environment reaches a plugin, so the hub's own secrets
// (HUB_SECRET_KEY, what the config's ${VAR}s name) never do.
var passedEnv = [...]string{
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "TZ",
}

// PluginEnv returns the environment a plugin process starts with, as
// KEY=VALUE: the allowed variables that lookup finds set. go-plugin adds its
// handshake variables.
func PluginEnv(lookup func(key string) (string, bool)) []string {
	var env []string
	for _, k := range passedEnv {
		if v, ok := lookup(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// handshakeMessage is how go-plugin (v1.6) reports a first stdout line that
// is not its handshake. It carries no typed error, so the text is matched;
// TestPluginPrintingBeforeServeFailsFast pins it.
const handshakeMessage = "Unrecognized remote plugin message: "

// HandshakeError says a plugin printed something of its own on stdout before
// the go-plugin handshake. Nothing may be printed to stdout before sdk.Serve:
// its stdout guard starts inside it. The error is permanent (restarting the
// same binary prints the same), so the engine does not retry it and breakers
// do not count it.
type HandshakeError struct {
	Plugin, Path string
	// Line is the first line the plugin printed (its own output, shortened).
	Line string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("plugin %s (%s) printed to stdout before the handshake: %q. Nothing may print to stdout before sdk.Serve, whose stdout guard starts inside it: log to stderr (or through the host logger) instead, then rebuild the plugin and run `hub plugins index`", e.Plugin, e.Path, e.Line)
}

// handshakeError returns the HandshakeError, classed permanent, that a failed
// start err stands for, or nil when err is another failure.
func handshakeError(name, path string, err error) error {
	_, rest, ok := strings.Cut(err.Error(), handshakeMessage)
	if !ok {
		return nil
	}
	line, _, _ := strings.Cut(rest, "\n")
	if line == "" {
		// Nothing printed: the process exited before its handshake, as a
		// crash does.
		return nil
	}
	if r := []rune(line); len(r) > 200 {
		line = string(r[:200]) + "…"
	}
	return &sdk.Error{Class: sdk.ClassPermanent, Err: &HandshakeError{Plugin: name, Path: path, Line: line}}
}

func (i *Instance) start() error {
	if err := i.m.catalog.Verify(i.entry); err != nil {
		return err
	}
	path := filepath.Join(i.m.catalog.Dir, i.entry.File)
	sum, _ := hex.DecodeString(i.entry.SHA256)
	cmd := exec.Command(path)
	cmd.Dir = i.m.opts.Dir
	// Only the allowed variables: go-plugin appends its own to cmd.Env and,
	// with SkipHostEnv, nothing else of the hub's.
	cmd.Env = PluginEnv(i.m.opts.LookupEnv)
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.HubPlugins(i.tenant, i.connection, i.host),
		Cmd:              cmd,
		// go-plugin checks the checksum again right before exec.
		SecureConfig:     &goplugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     i.m.opts.StartTimeout,
		GRPCDialOptions:  sdk.DialOptions(),
		Logger:           hclogger(i.log, i.entry.Name, map[string]string{"plugin": i.entry.Name, "tenant": i.tenant, "connection": i.connection}),
		SkipHostEnv:      true,
	})
	proto, err := client.Client()
	if err != nil {
		client.Kill()
		if herr := handshakeError(i.entry.Name, path, err); herr != nil {
			return herr
		}
		return sdk.UnavailableError(nil, "start plugin %s (%s): %v", i.entry.Name, path, err)
	}
	remote, err := sdk.Dispense(proto)
	if err != nil {
		client.Kill()
		return sdk.UnavailableError(err, "plugin %s", i.entry.Name)
	}
	i.client, i.remote = client, remote
	i.starts++
	return nil
}

// Starts returns how many times the process was started.
func (i *Instance) Starts() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.starts
}

// Pid returns the plugin process id, or 0 when not running.
func (i *Instance) Pid() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.client == nil || i.client.Exited() {
		return 0
	}
	if rc := i.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// Kill stops the instance's process.
func (i *Instance) Kill() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.client != nil {
		i.client.Kill()
		i.client = nil
	}
}

// Spec returns the connector's spec from the catalog.
func (i *Instance) Spec() sdk.Spec { return i.entry.Spec }

// Shutdown kills every plugin process.
func (m *Manager) Shutdown() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, inst := range m.instances {
		inst.Kill()
		delete(m.instances, k)
	}
}

// Describe is for logs: "name version".
func (e Entry) Describe() string { return fmt.Sprintf("%s %s", e.Name, e.Version) }
