package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/channelhub/channelhub/hub/engine"
	"github.com/channelhub/channelhub/sdk"
)

func syncCmd(g *globals) *cobra.Command {
	var reset []string
	var mode string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "sync JOB",
		Short: "Run one job now (JOB or TENANT/JOB) and print its progress",
		Long: `Run one job now: read its streams from the last checkpoint and deliver its
queued write-back actions. Progress is shown on a terminal. Exits non-zero
with the reason when the run fails or is deferred (an open circuit breaker).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if mode != "" {
				if _, err := sdk.ParseMode(mode); err != nil {
					return fmt.Errorf("--mode: %w", err)
				}
			}
			a, err := openApp(ctx, g.config, g.stderr, g.logLevel, true)
			if err != nil {
				return err
			}
			defer a.Close()
			tenant, job, err := a.cfg.FindJob(args[0])
			if err != nil {
				return err
			}
			for _, s := range reset {
				if !slices.Contains(job.Read, s) {
					return fmt.Errorf("--reset %q: job %s does not read that stream; it reads %s", s, job.ID, streamList(job.Read))
				}
			}
			for _, s := range reset {
				if err := a.store.ResetStream(ctx, tenant.ID, job.ID, s); err != nil {
					return err
				}
			}
			res, err := a.engine.Run(ctx, engine.Request{Tenant: tenant.ID, Job: job.ID, Mode: mode, Progress: progressPrinter(g.stderr)})
			switch {
			case res != nil && asJSON:
				if jerr := json.NewEncoder(g.stdout).Encode(res); jerr != nil {
					return jerr
				}
			case res != nil:
				printResult(g.stdout, res)
			}
			return err
		},
	}
	cmd.Flags().StringSliceVar(&reset, "reset", nil, "drop the checkpoint of these streams of the job first, so they start over")
	cmd.Flags().StringVar(&mode, "mode", "", "override the job's mode: full or incremental")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// progressPrinter shows progress on a terminal, one line rewritten in place.
func progressPrinter(w io.Writer) func(engine.Progress) {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(f) {
		return nil
	}
	last := time.Time{}
	return func(p engine.Progress) {
		now := time.Now()
		if p.Event == "batch" && now.Sub(last) < 100*time.Millisecond {
			return
		}
		last = now
		switch p.Event {
		case "retry":
			fmt.Fprintf(w, "\r\033[K%s/%s: %d records; retrying in %s: %v\n", p.Job, p.Stream, p.Records, p.Wait.Round(time.Millisecond), p.Err)
		case "done":
			fmt.Fprintf(w, "\r\033[K%s/%s: %d records, done\n", p.Job, p.Stream, p.Records)
		case "write":
			fmt.Fprintf(w, "\r\033[K%s: %d actions delivered", p.Job, p.Records)
		default:
			if p.Total > 0 {
				fmt.Fprintf(w, "\r\033[K%s/%s: %d records (%d of ~%d)", p.Job, p.Stream, p.Records, p.Done, p.Total)
			} else {
				fmt.Fprintf(w, "\r\033[K%s/%s: %d records", p.Job, p.Stream, p.Records)
			}
		}
	}
}

// streamList names a job's streams for a message.
func streamList(streams []string) string {
	if len(streams) == 0 {
		return "no stream (it only writes)"
	}
	return strings.Join(streams, ", ")
}

// printResult prints a run's counts. Every record read is counted once:
// written, unchanged, dead-lettered, or skipped as an erased person's.
func printResult(w io.Writer, r *engine.Result) {
	for _, s := range r.Streams {
		fmt.Fprintf(w, "%s/%s %s: %d records read, %d written, %d unchanged, %d new members, %d merges, %d dead-lettered, %d erased (skipped), %d retries\n",
			r.Tenant, r.Job, s.Stream, s.Records, s.Written, s.Unchanged, s.NewMembers, s.Merges, s.DeadLettered, s.Erased, s.Retries)
		if s.Receipts+s.UnknownReceipts > 0 {
			fmt.Fprintf(w, "%s/%s %s: %d delivery receipts filed, %d for messages the hub did not send\n", r.Tenant, r.Job, s.Stream, s.Receipts, s.UnknownReceipts)
		}
	}
	if wr := r.Writes; wr != (engine.WriteResult{}) {
		fmt.Fprintf(w, "%s/%s write-back: %d delivered, %d failed, %d refused, %d to retry\n", r.Tenant, r.Job, wr.Delivered, wr.Failed, wr.Refused, wr.Retrying)
	}
	fmt.Fprintf(w, "%s/%s took %s\n", r.Tenant, r.Job, r.Duration.Round(time.Millisecond))
}
