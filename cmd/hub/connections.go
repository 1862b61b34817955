package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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
	var resetTenant string
	reset := &cobra.Command{
		Use:   "reset CONNECTION",
		Short: "Forget the config values the connection's plugin stored (rotated tokens): it runs on the config file's values again",
		Long: `A plugin may store config values it was given by its platform, such as a refreshed
access or refresh token (UpdateConfig); they are kept encrypted and laid over the
connection's config from the file on every run. reset deletes them, so the
connection runs on the file's values alone: use it after replacing credentials in the
file, or when a stored value is refused. It prints the names of the fields it
forgot, never their values.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, t, err := g.openTenant(cmd.Context(), resetTenant, false)
			if err != nil {
				return err
			}
			defer a.Close()
			if _, err := t.Connection(args[0]); err != nil {
				return err
			}
			fields, err := a.store.ResetConfigPatch(cmd.Context(), t.ID, args[0])
			if err != nil {
				return err
			}
			if len(fields) == 0 {
				fmt.Fprintf(g.stdout, "%s/%s: nothing stored; it runs on the config file's values\n", t.ID, args[0])
				return nil
			}
			fmt.Fprintf(g.stdout, "%s/%s: forgot the stored %s; it runs on the config file's values again\n", t.ID, args[0], strings.Join(fields, ", "))
			return nil
		},
	}
	reset.Flags().StringVar(&resetTenant, "tenant", "", "tenant (default: the only one in the config)")
	cmd.AddCommand(list, check, reset)
	return cmd
}
