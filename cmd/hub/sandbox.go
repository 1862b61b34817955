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
)

func sandboxCmd(g *globals) *cobra.Command {
	var platforms, writeConfig, listen string
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
			for _, r := range set.Running {
				out[r.Platform] = r
			}
			if err := json.NewEncoder(g.stdout).Encode(map[string]any{"sandboxes": out}); err != nil {
				return err
			}
			if writeConfig != "" {
				// The offline-store export goes beside the config.
				dir, err := filepath.Abs(filepath.Dir(writeConfig))
				if err != nil {
					return err
				}
				fileConn, fileJob, err := sandboxes.FileExport(dir, seed, members)
				if err != nil {
					return err
				}
				if err := writeHubConfig(writeConfig, set, ".hub-sandbox/data", "bin/plugins", &fileConn, &fileJob); err != nil {
					return err
				}
				fmt.Fprintf(g.stderr, "wrote %s\n", writeConfig)
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
	return cmd
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
	Connections []sandboxes.Connection `yaml:"connections"`
	Jobs        []sandboxes.Job        `yaml:"jobs"`
}

// writeHubConfig writes a config with one tenant, "demo", holding a
// connection and jobs for every running sandbox and, when given, the file
// connector's export.
func writeHubConfig(path string, set *sandboxes.Set, dataDir, pluginsDir string, fileConn *sandboxes.Connection, fileJob *sandboxes.Job) error {
	t := tenantFile{ID: "demo", Name: "Demo brand"}
	for _, r := range set.Running {
		t.Connections = append(t.Connections, r.Connections...)
		t.Jobs = append(t.Jobs, r.Jobs...)
	}
	if fileConn != nil {
		t.Connections = append(t.Connections, *fileConn)
		t.Jobs = append(t.Jobs, *fileJob)
	}
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
