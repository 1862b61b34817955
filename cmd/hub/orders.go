package main

import (
	"bufio"
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/channelhub/channelhub/hub/store"
)

func ordersCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "orders", Short: "Export orders from every channel in the canonical model"}
	var tenant string
	export := &cobra.Command{
		Use:   "export [--tenant T]",
		Short: "Write every order of a tenant as JSON lines: canonical status, member id, amounts in fen, items, RFC 3339 times",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, t, err := g.openTenant(ctx, tenant, false)
			if err != nil {
				return err
			}
			defer a.Close()
			w := bufio.NewWriter(g.stdout)
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			if err := a.store.ExportOrders(ctx, t.ID, func(o *store.OrderView) error { return enc.Encode(o) }); err != nil {
				return err
			}
			return w.Flush()
		},
	}
	export.Flags().StringVar(&tenant, "tenant", "", "tenant (default: the only one in the config)")
	cmd.AddCommand(export)
	return cmd
}
