package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/channelhub/channelhub/connectors/sandboxes"
	smssandbox "github.com/channelhub/channelhub/connectors/sms/sandbox"
)

func sandboxCmd(g *globals) *cobra.Command {
	var platforms, writeConfig, listen, pluginsDir string
	var seed uint64
	var members int
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run the platform emulators and print their URLs and test credentials as one JSON line",
		Long: `Start the platform sandboxes (faithful local emulators of each platform's API)
on loopback, print one JSON line with each platform's base URL and test
credentials, optionally write a ready hub.yaml pointing at them, and serve
until interrupted.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var names []string
			if platforms != "" {
				names = strings.Split(platforms, ",")
			}
			set, err := sandboxes.Start(ctx, sandboxes.Options{Platforms: names, Seed: seed, Members: members, Listen: listen})
			if err != nil {
				return err
			}
			defer set.Close()
			out := map[string]any{}
			sms := map[string]any{}
			for _, r := range set.Running {
				if provider, ok := strings.CutPrefix(r.Platform, "sms-"); ok {
					sms[provider] = r // the SDKs take the endpoint as host:port: see credentials.endpoint
					continue
				}
				out[r.Platform] = r
			}
			if len(sms) > 0 {
				out["sms"] = sms
			}
			if writeConfig != "" {
				// The offline-store export goes beside the config.
				dir, err := filepath.Abs(filepath.Dir(writeConfig))
				if err != nil {
					return err
				}
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return fmt.Errorf("--write-config: %w", err)
				}
				fileConn, fileJob, err := sandboxes.FileExport(dir, seed, members)
				if err != nil {
					return err
				}
				// The config names the plugins by their absolute path, and
				// its data directory beside it (relative paths in a config
				// are taken from its directory).
				plugins, err := pluginsDirOrBeside(pluginsDir)
				if err != nil {
					return err
				}
				if err := writeHubConfig(writeConfig, sandboxTenant(set, &fileConn, &fileJob), ".hub-sandbox/data", plugins); err != nil {
					return err
				}
				fmt.Fprintf(g.stderr, "wrote %s\n", writeConfig)
			}
			// The line comes last: whoever reads it finds the config written.
			if err := json.NewEncoder(g.stdout).Encode(map[string]any{"sandboxes": out}); err != nil {
				return err
			}
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&platforms, "platforms", "", "comma-separated platforms (default all: "+strings.Join(sandboxes.Available(), ",")+")")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the generated people")
	cmd.Flags().IntVar(&members, "members", 3000, "how many people to generate")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "address of the first sandbox; port 0 picks free ports")
	cmd.Flags().StringVar(&writeConfig, "write-config", "", "write a hub.yaml with connections and jobs for the sandboxes")
	cmd.Flags().StringVar(&pluginsDir, "plugins-dir", "", "directory of built plugins the written config names (default: plugins beside the hub binary, as make build lays them out)")
	return cmd
}

// pluginsDirOrBeside is the absolute plugins directory: the one given, else
// the plugins directory beside the running hub binary (bin/hub and
// bin/plugins, as make build lays them out), whatever directory the hub runs
// in.
func pluginsDirOrBeside(given string) (string, error) {
	if given != "" {
		return filepath.Abs(given)
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("--plugins-dir: %w", err)
	}
	if self, err = filepath.EvalSymlinks(self); err != nil {
		return "", fmt.Errorf("--plugins-dir: %w", err)
	}
	return filepath.Join(filepath.Dir(self), "plugins"), nil
}

// hubFile is the YAML shape written for sandboxes.
type hubFile struct {
	DataDir    string       `yaml:"data_dir"`
	PluginsDir string       `yaml:"plugins_dir"`
	Timezone   string       `yaml:"timezone"`
	Tenants    []tenantFile `yaml:"tenants"`
}

type tenantFile struct {
	ID          string                 `yaml:"id"`
	Name        string                 `yaml:"name"`
	SMS         *smsFile               `yaml:"sms,omitempty"`
	Connections []sandboxes.Connection `yaml:"connections"`
	Jobs        []sandboxes.Job        `yaml:"jobs"`
}

// smsFile is a tenant's sms section: the templates the SMS sandboxes have
// approved, so the hub knows which are marketing.
type smsFile struct {
	AllowedHours string                 `yaml:"allowed_hours,omitempty"`
	Templates    map[string]smsTemplate `yaml:"templates"`
}

type smsTemplate struct {
	Marketing bool   `yaml:"marketing"`
	Text      string `yaml:"text"`
}

// sandboxSMS declares the SMS sandboxes' templates.
func sandboxSMS(set *sandboxes.Set) *smsFile {
	f := &smsFile{Templates: map[string]smsTemplate{}}
	for _, r := range set.Running {
		provider, ok := strings.CutPrefix(r.Platform, "sms-")
		if !ok {
			continue
		}
		for _, t := range smssandbox.DefaultTemplates(smssandbox.Provider(provider)) {
			// $$ keeps the config's ${VAR} expansion off the template's variables.
			f.Templates[t.ID] = smsTemplate{Marketing: t.Kind == smssandbox.KindPromotion, Text: strings.ReplaceAll(t.Text, "${", "$${")}
		}
	}
	if len(f.Templates) == 0 {
		return nil
	}
	return f
}

// sandboxTenant is the tenant "demo" with a connection and jobs for every
// running sandbox and, when given, the file connector's export.
func sandboxTenant(set *sandboxes.Set, fileConn *sandboxes.Connection, fileJob *sandboxes.Job) tenantFile {
	t := tenantFile{ID: "demo", Name: "Demo brand", SMS: sandboxSMS(set)}
	for _, r := range set.Running {
		t.Connections = append(t.Connections, r.Connections...)
		t.Jobs = append(t.Jobs, r.Jobs...)
	}
	if fileConn != nil {
		t.Connections = append(t.Connections, *fileConn)
		t.Jobs = append(t.Jobs, *fileJob)
	}
	return t
}

// writeHubConfig writes a config with one tenant.
func writeHubConfig(path string, t tenantFile, dataDir, pluginsDir string) error {
	b, err := yaml.Marshal(hubFile{DataDir: dataDir, PluginsDir: pluginsDir, Timezone: "Asia/Shanghai", Tenants: []tenantFile{t}})
	if err != nil {
		return err
	}
	head := "# Written by `hub sandbox`/`hub demo`: connections and jobs for the local sandboxes.\n# The credentials are the sandboxes' test credentials.\n"
	if err := os.WriteFile(path, append([]byte(head), b...), 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}
