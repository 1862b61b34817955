package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/channelhub/channelhub/hub/plugin"
)

func pluginsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "plugins", Short: "List, verify and index connector plugins"}
	var dir string
	var asJSON bool
	// pluginsDir is --dir, else the config's plugins_dir, else the default.
	pluginsDir := func() string {
		if dir != "" {
			return dir
		}
		if cfg, err := loadConfig(g.config); err == nil {
			return cfg.PluginsDir
		}
		return "bin/plugins"
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the plugins in the catalog",
		RunE: func(*cobra.Command, []string) error {
			cat, err := plugin.LoadCatalog(pluginsDir())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(cat.Plugins)
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tPROTOCOL\tSTREAMS\tACTIONS\tSHA256")
			for _, e := range cat.Plugins {
				var streams, actions []string
				for _, s := range e.Spec.Streams {
					streams = append(streams, s.Name)
				}
				for _, a := range e.Spec.Actions {
					actions = append(actions, a.Name)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%v\t%s…\n", e.Name, e.Version, e.Protocol, streams, actions, e.SHA256[:16])
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check every plugin binary against its catalog checksum",
		RunE: func(*cobra.Command, []string) error {
			cat, err := plugin.LoadCatalog(pluginsDir())
			if err != nil {
				return err
			}
			var errs []error
			for _, e := range cat.Plugins {
				if err := cat.Verify(e); err != nil {
					fmt.Fprintf(g.stdout, "FAIL %s: %v\n", e.Name, err)
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(g.stdout, "ok   %s %s sha256 %s\n", e.Name, e.Version, e.SHA256)
			}
			return errors.Join(errs...)
		},
	}
	index := &cobra.Command{
		Use:   "index [DIR]",
		Short: "Write DIR/catalog.json from the plugin binaries in DIR (run by `make plugins`)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := pluginsDir()
			if len(args) == 1 {
				d = args[0]
			}
			cat, err := plugin.Index(cmd.Context(), d)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "indexed %d plugins in %s\n", len(cat.Plugins), d)
			return nil
		},
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", "", "plugins directory (default: the config's plugins_dir)")
	cmd.AddCommand(list, verify, index)
	return cmd
}
