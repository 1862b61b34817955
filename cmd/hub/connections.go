package main

import (
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/channelhub/channelhub/sdk"
)

func connectionsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "connections", Short: "List connections and check their credentials"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List every tenant's connections (secrets are never shown)",
		RunE: func(*cobra.Command, []string) error {
			cfg, _, err := loadCheckedConfig(g.config)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TENANT\tCONNECTION\tCONNECTOR\tJOBS")
			for _, t := range cfg.Tenants {
				for _, c := range t.Connections {
					var jobs []string
					for _, j := range t.Jobs {
						if j.Connection == c.ID {
							jobs = append(jobs, j.ID)
						}
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", t.ID, c.ID, c.Connector, jobs)
				}
			}
			return tw.Flush()
		},
	}
	var tenant string
	check := &cobra.Command{
		Use:   "check [CONNECTION]...",
		Short: "Start each connection's plugin and verify its credentials with the platform",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := openApp(ctx, g.config, g.stderr, g.logLevel, true)
			if err != nil {
				return err
			}
			defer a.Close()
			var errs []error
			for _, t := range a.cfg.Tenants {
				if tenant != "" && t.ID != tenant {
					continue
				}
				for _, c := range t.Connections {
					if len(args) > 0 && !slices.Contains(args, c.ID) {
						continue
					}
					// The config a sync would use: stored patches
					// (rotated tokens) on top.
					if err := a.engine.Check(ctx, t.ID, c.ID); err != nil {
						fmt.Fprintf(g.stdout, "FAIL %s/%s (%s): %v\n", t.ID, c.ID, sdk.ClassOf(err), err)
						errs = append(errs, fmt.Errorf("%s/%s: %w", t.ID, c.ID, err))
						continue
					}
					fmt.Fprintf(g.stdout, "ok   %s/%s\n", t.ID, c.ID)
				}
			}
			return errors.Join(errs...)
		},
	}
	check.Flags().StringVar(&tenant, "tenant", "", "only this tenant's connections")
	cmd.AddCommand(list, check)
	return cmd
}
