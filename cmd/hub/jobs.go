package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func jobsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "jobs", Short: "Jobs: their streams' state, runs, dead letters and write-back outbox"}
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Show every job's streams (checkpoint, records, status, last error), latest runs, and the write-back outbox",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, err := openApp(ctx, g.config, g.stderr, g.logLevel, false)
			if err != nil {
				return err
			}
			defer a.Close()
			states, err := a.store.ListStreamStates(ctx, "")
			if err != nil {
				return err
			}
			runs, err := a.store.Runs(ctx, "", 20)
			if err != nil {
				return err
			}
			outbox, err := a.store.Outbox(ctx, "")
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(map[string]any{"streams": states, "runs": runs, "outbox": outbox})
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TENANT\tJOB\tSTREAM\tSTATUS\tRECORDS\tUPDATED\tLAST ERROR")
			for _, s := range states {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Tenant, s.Job, s.Stream, s.Status, s.Records, s.UpdatedAt.Format(time.RFC3339), s.LastError)
			}
			fmt.Fprintln(tw, "\nRUN\tTENANT\tJOB\tSTATUS\tRECORDS\tSTARTED\tERROR")
			for _, r := range runs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Tenant, r.Job, r.Status, r.Records, r.StartedAt.Format(time.RFC3339), r.Error)
			}
			if len(outbox) > 0 {
				fmt.Fprintln(tw, "\nwrite-back outbox\nTENANT\tCONNECTION\tACTION\tPENDING\tDELIVERED\tFAILED\tREFUSED\tNOTE")
				for _, o := range outbox {
					note := ""
					if t, err := a.cfg.Tenant(o.Tenant); o.Pending > 0 && err == nil {
						note = deliveryNote(t, o.Connection, o.Action)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", o.Tenant, o.Connection, o.Action, o.Pending, o.Delivered, o.Failed, o.Refused, note)
				}
			}
			return tw.Flush()
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	var tenant string
	dead := &cobra.Command{
		Use:   "dead-letters",
		Short: "List records that could not be applied, with their reasons",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, t, err := g.openTenant(ctx, tenant, false)
			if err != nil {
				return err
			}
			defer a.Close()
			dls, err := a.store.DeadLetters(ctx, t.ID, 100)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(g.stdout)
			for _, d := range dls {
				if err := enc.Encode(map[string]any{"job": d.Job, "connection": d.Connection, "stream": d.Stream, "record_id": d.RecordID, "reason": d.Reason, "location": d.Location, "at": d.At}); err != nil {
					return err
				}
			}
			return nil
		},
	}
	dead.Flags().StringVar(&tenant, "tenant", "", "tenant (default: the only one)")

	var state string
	var limit int
	writes := &cobra.Command{
		Use:   "writes [--status failed] [--limit N] [--json]",
		Short: "List write-back actions in one state (pending, delivered, failed, refused) with their attempts and last error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, t, err := g.openTenant(ctx, tenant, false)
			if err != nil {
				return err
			}
			defer a.Close()
			entries, err := a.store.OutboxEntries(ctx, t.ID, state, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONLines(g.stdout, entries)
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCONNECTION\tACTION\tMEMBER\tATTEMPTS\tUPDATED\tLAST ERROR")
			for _, e := range entries {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", e.ID, e.Connection, e.Action, e.MemberID, e.Attempts, e.UpdatedAt.Format(time.RFC3339), e.LastError)
			}
			return tw.Flush()
		},
	}
	writes.Flags().StringVar(&tenant, "tenant", "", "tenant (default: the only one)")
	writes.Flags().StringVar(&state, "status", "failed", "pending, delivered, failed or refused")
	writes.Flags().IntVar(&limit, "limit", 100, "most actions listed, most recently updated first")
	writes.Flags().BoolVar(&asJSON, "json", false, "print JSON lines")

	var connection, action string
	retry := &cobra.Command{
		Use:   "retry-writes --connection C [--action A]",
		Short: "Queue a connection's failed write-back actions again, for the next run of a job that writes them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if connection == "" {
				return errors.New("give --connection: the connection whose failed actions to queue again")
			}
			a, t, err := g.openTenant(ctx, tenant, true)
			if err != nil {
				return err
			}
			defer a.Close()
			if _, err := t.Connection(connection); err != nil {
				return err
			}
			n, err := a.store.RequeueFailed(ctx, t.ID, connection, action)
			if err != nil {
				return err
			}
			what := "failed actions"
			if action != "" {
				what = "failed " + action + " actions"
			}
			fmt.Fprintf(g.stdout, "%d %s of %s queued again", n, what, connection)
			if n > 0 && action != "" {
				fmt.Fprintf(g.stdout, " (%s)", deliveryNote(t, connection, action))
			}
			fmt.Fprintln(g.stdout)
			return nil
		},
	}
	retry.Flags().StringVar(&tenant, "tenant", "", "tenant (default: the only one)")
	retry.Flags().StringVar(&connection, "connection", "", "connection whose failed actions to queue again")
	retry.Flags().StringVar(&action, "action", "", "only actions of this type (e.g. member.level)")
	cmd.AddCommand(status, dead, writes, retry)
	return cmd
}
