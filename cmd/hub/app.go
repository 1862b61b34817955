package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/hub/config"
	"github.com/channelhub/channelhub/hub/engine"
	"github.com/channelhub/channelhub/hub/plugin"
	"github.com/channelhub/channelhub/hub/secret"
	"github.com/channelhub/channelhub/hub/store/sqlite"
	"github.com/channelhub/channelhub/sdk"
)

// app is the wired hub: config, store, plugins and engine.
type app struct {
	cfg     *config.Config
	catalog *plugin.Catalog
	store   *sqlite.Store
	plugins *plugin.Manager
	engine  *engine.Engine
	log     zerolog.Logger
}

// newLogger returns a logger for the CLI: readable on a terminal, JSON
// otherwise.
func newLogger(w io.Writer, level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// loadConfig reads and validates the config file on its own.
func loadConfig(path string) (*config.Config, error) {
	return config.Load(path, os.LookupEnv)
}

// loadCheckedConfig reads the config file and checks all of it against the
// plugin catalog (connectors, their config, the jobs' streams and actions).
// Every command that acts on a config's tenants uses it, so a bad config
// fails before anything runs.
func loadCheckedConfig(path string) (*config.Config, *plugin.Catalog, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	cat, err := plugin.LoadCatalog(cfg.PluginsDir)
	if err != nil {
		return nil, nil, err
	}
	lookup := func(name string) (sdk.Spec, bool) {
		e, ok := cat.Lookup(name)
		return e.Spec, ok
	}
	if err := cfg.ValidateConnectors(lookup, cat.Names()); err != nil {
		return nil, nil, err
	}
	return cfg, cat, nil
}

// openApp wires the hub from a config file, checked whole before the store
// is opened; withPlugins also readies the plugins and the sync engine.
func openApp(ctx context.Context, configPath string, stderr io.Writer, logLevel string, withPlugins bool) (*app, error) {
	cfg, cat, err := loadCheckedConfig(configPath)
	if err != nil {
		return nil, err
	}
	if logLevel == "" {
		logLevel = cfg.LogLevel
	}
	log := newLogger(stderr, logLevel)
	a := &app{cfg: cfg, catalog: cat, log: log}
	if withPlugins {
		a.plugins = plugin.NewManager(cat, log, plugin.Options{Dir: cfg.Dir})
	}
	key := cfg.SecretKey
	if key == nil {
		if key, err = secret.LoadOrCreateKey(filepath.Join(cfg.DataDir, "secret.key")); err != nil {
			return nil, err
		}
	}
	box, err := secret.New(key)
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "hub.db"), box, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	a.store = st
	for _, t := range cfg.Tenants {
		if _, err := st.EnsureTenant(ctx, t.ID, []byte(t.PhoneSalt)); err != nil {
			st.Close()
			return nil, err
		}
	}
	if withPlugins {
		a.engine = engine.New(cfg, st, a.plugins, log, engine.Options{})
	}
	return a, nil
}

// Close kills plugins and closes the store.
func (a *app) Close() {
	if a.engine != nil {
		a.engine.Shutdown()
	}
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Warn().Err(err).Msg("closing store")
		}
	}
}

// openTenant opens the app and picks a tenant (the named one, or the only
// one). The caller closes the app.
func (g *globals) openTenant(ctx context.Context, tenant string, withPlugins bool) (*app, *config.Tenant, error) {
	a, err := openApp(ctx, g.config, g.stderr, g.logLevel, withPlugins)
	if err != nil {
		return nil, nil, err
	}
	t, err := a.tenantOrOnly(tenant)
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, t, nil
}

// tenantOrOnly returns the named tenant, or the only one when name is empty.
func (a *app) tenantOrOnly(name string) (*config.Tenant, error) {
	if name != "" {
		return a.cfg.Tenant(name)
	}
	if len(a.cfg.Tenants) == 1 {
		return &a.cfg.Tenants[0], nil
	}
	return nil, fmt.Errorf("the config has %d tenants: name one with --tenant", len(a.cfg.Tenants))
}

// writers returns, for a connection of the tenant, the write-back actions
// its plugin's spec declares.
func (a *app) writers(t *config.Tenant) func(connection string) []string {
	return func(connection string) []string {
		c, err := t.Connection(connection)
		if err != nil {
			return nil
		}
		e, ok := a.catalog.Lookup(c.Connector)
		if !ok {
			return nil
		}
		var out []string
		for _, act := range e.Spec.Actions {
			out = append(out, act.Name)
		}
		return out
	}
}

// deliveredBy says, for each connection an action was queued for, which
// jobs deliver it, or that none does yet.
func deliveredBy(t *config.Tenant, conns []string, action string) string {
	parts := make([]string, len(conns))
	for i, c := range conns {
		parts[i] = c + " (" + deliveryNote(t, c, action) + ")"
	}
	return strings.Join(parts, "; ")
}

// deliveryNote names the jobs of the tenant that write action on conn, or
// says that none does yet — a queued action no job writes waits for ever.
func deliveryNote(t *config.Tenant, conn, action string) string {
	var jobs []string
	for _, j := range t.Jobs {
		if j.Connection == conn && slices.Contains(j.Write, action) {
			jobs = append(jobs, j.ID)
		}
	}
	if len(jobs) == 0 {
		return "no job writes " + action + " for it yet: add it to a job's write list"
	}
	return "delivered by the next run of " + strings.Join(jobs, ", ")
}

// writeJSONLines writes items to w as JSON, one a line.
func writeJSONLines[T any](w io.Writer, items []T) error {
	enc := json.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}

// connectionsWriting names the tenant's connections whose connector writes
// action, or says there are none.
func connectionsWriting(t *config.Tenant, writers func(string) []string, action string) []string {
	var out []string
	for _, c := range t.Connections {
		if slices.Contains(writers(c.ID), action) {
			out = append(out, c.ID)
		}
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

// localTime renders t in the config's time zone, which schedules run in.
func (a *app) localTime(t time.Time) string {
	return t.In(a.cfg.Location).Format(time.RFC3339)
}
