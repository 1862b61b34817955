package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/channelhub/channelhub/hub/config"
	"github.com/channelhub/channelhub/hub/schedule"
	"github.com/channelhub/channelhub/hub/store"
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
			last, err := a.store.LastRuns(ctx, "")
			if err != nil {
				return err
			}
			now := time.Now()
			schedulers, err := a.store.Schedulers(ctx, now)
			if err != nil {
				return err
			}
			var started time.Time
			if len(schedulers) > 0 {
				started = schedulers[0].StartedAt
			} else {
				schedulers = []store.Scheduler{} // [] in JSON, not null
			}
			jobs := jobOverview(a.cfg, last, now, started)
			states = withNeverRun(a.cfg, states)
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(map[string]any{"schedulers": schedulers, "jobs": jobs, "streams": states, "runs": runs, "outbox": outbox})
			}
			if len(schedulers) == 0 {
				fmt.Fprintln(g.stdout, "scheduler: not running; scheduled jobs run only while `hub serve` runs")
			}
			for _, sc := range schedulers {
				fmt.Fprintf(g.stdout, "scheduler: running in hub process %s since %s\n", sc.Process, a.localTime(sc.StartedAt))
			}
			fmt.Fprintln(g.stdout)
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TENANT\tJOB\tCONNECTION\tSCHEDULE\tNEXT RUN\tLAST RUN\tLAST STATUS")
			for _, j := range jobs {
				// Times in the config's time zone, which schedules run in.
				schedule, next, lastAt, lastStatus := "manual", "-", "never", "-"
				if j.Schedule != "" {
					schedule = j.Schedule
				}
				if !j.NextRun.IsZero() {
					next = a.localTime(j.NextRun)
				}
				if j.LastRun != nil {
					lastAt, lastStatus = a.localTime(j.LastRun.StartedAt), j.LastRun.Status
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Tenant, j.Job, j.Connection, schedule, next, lastAt, lastStatus)
			}
			fmt.Fprintln(tw, "\nTENANT\tJOB\tSTREAM\tSTATUS\tRECORDS\tUPDATED\tLAST ERROR")
			for _, s := range states {
				updated := "-"
				if !s.UpdatedAt.IsZero() {
					updated = a.localTime(s.UpdatedAt)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Tenant, s.Job, s.Stream, s.Status, s.Records, updated, s.LastError)
			}
			fmt.Fprintln(tw, "\nRUN\tTENANT\tJOB\tSTATUS\tRECORDS\tSTARTED\tERROR")
			for _, r := range runs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Tenant, r.Job, r.Status, r.Records, a.localTime(r.StartedAt), r.Error)
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
	var showRaw bool
	dead := &cobra.Command{
		Use:   "dead-letters [--show-raw]",
		Short: "List records that could not be applied, with their reasons, most recently failed first (JSON lines)",
		Args:  cobra.NoArgs,
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
			lines := make([]deadLetterLine, len(dls))
			for i, d := range dls {
				lines[i].DeadLetter = d
				if showRaw {
					lines[i].Raw = string(d.Raw)
				}
			}
			return writeJSONLines(g.stdout, lines)
		},
	}
	dead.Flags().StringVar(&tenant, "tenant", "", "tenant (default: the only one)")
	dead.Flags().BoolVar(&showRaw, "show-raw", false, "also print each record as the connector sent it (it may hold phone numbers)")

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
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", e.ID, e.Connection, e.Action, e.MemberID, e.Attempts, a.localTime(e.UpdatedAt), e.LastError)
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

// deadLetterLine is one line of `hub jobs dead-letters`. Raw, the record as
// the connector sent it, is printed only when asked for (--show-raw): it
// may hold phone numbers.
type deadLetterLine struct {
	store.DeadLetter
	Raw string `json:"raw,omitempty"`
}

// jobStatus is one configured job in `hub jobs status`: its schedule, when
// it runs next and how its latest run went.
type jobStatus struct {
	Tenant     string     `json:"tenant"`
	Job        string     `json:"job"`
	Connection string     `json:"connection"`
	Read       []string   `json:"read,omitempty"`
	Write      []string   `json:"write,omitempty"`
	Schedule   string     `json:"schedule,omitempty"`
	NextRun    time.Time  `json:"next_run,omitzero"`
	LastRun    *store.Run `json:"last_run,omitempty"`
}

// jobOverview lists every configured job with its latest run (from last,
// the latest run of each job) and its next scheduled run after now; an
// @every schedule counts from started, when the scheduler started (none
// when zero).
func jobOverview(cfg *config.Config, last []store.Run, now, started time.Time) []jobStatus {
	var out []jobStatus
	for _, t := range cfg.Tenants {
		for _, j := range t.Jobs {
			js := jobStatus{Tenant: t.ID, Job: j.ID, Connection: j.Connection, Read: j.Read, Write: j.Write, Schedule: j.Schedule}
			if j.Schedule != "" {
				// The config was checked: the schedule parses.
				js.NextRun, _ = schedule.NextRun(j.Schedule, cfg.Location, now, started)
			}
			for i := range last {
				if last[i].Tenant == t.ID && last[i].Job == j.ID {
					js.LastRun = &last[i]
				}
			}
			out = append(out, js)
		}
	}
	return out
}

// withNeverRun adds to states, the stored stream states, a "never run" row
// for each stream a configured job reads that has none yet.
func withNeverRun(cfg *config.Config, states []store.StreamState) []store.StreamState {
	for _, t := range cfg.Tenants {
		for _, j := range t.Jobs {
			for _, stream := range j.Read {
				if !slices.ContainsFunc(states, func(s store.StreamState) bool {
					return s.Tenant == t.ID && s.Job == j.ID && s.Stream == stream
				}) {
					states = append(states, store.StreamState{Tenant: t.ID, Job: j.ID, Stream: stream, Status: "never run"})
				}
			}
		}
	}
	return states
}
