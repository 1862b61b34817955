package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/channelhub/channelhub/hub/engine"
	"github.com/channelhub/channelhub/hub/schedule"
)

func serveCmd(g *globals) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run every scheduled job on its cron schedule until interrupted; with --listen, also take platform webhooks",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, err := openApp(ctx, g.config, g.stderr, g.logLevel, true)
			if err != nil {
				return err
			}
			defer a.Close()
			var entries []schedule.Entry
			for _, t := range a.cfg.Tenants {
				for _, j := range t.Jobs {
					if j.Schedule != "" {
						entries = append(entries, schedule.Entry{Tenant: t.ID, Job: j.ID, Schedule: j.Schedule})
					}
				}
			}
			s, err := schedule.New(entries, a.cfg.Location, a.log, func(ctx context.Context, tenant, job string) {
				_, err := a.engine.Run(ctx, engine.Request{Tenant: tenant, Job: job})
				var deferred *engine.DeferredError
				if errors.As(err, &deferred) {
					a.log.Warn().Str("tenant", tenant).Str("job", job).Str("reason", deferred.Reason).Msg("run deferred")
				}
			})
			if err != nil {
				return err
			}
			stopBeat, err := a.engine.SchedulerRunning(ctx)
			if err != nil {
				return err
			}
			defer stopBeat()
			s.Start()
			a.log.Info().Int("jobs", len(entries)).Str("timezone", a.cfg.Location.String()).Msg("scheduler started")
			if listen != "" {
				srv := &http.Server{Addr: listen, Handler: a.engine.WebhookHandler(), ReadHeaderTimeout: 10 * time.Second}
				ln, err := net.Listen("tcp", listen)
				if err != nil {
					return fmt.Errorf("--listen %s: %w", listen, err)
				}
				a.log.Info().Str("addr", ln.Addr().String()).Msg("webhooks at POST /webhooks/{tenant}/{connection}")
				go func() { _ = srv.Serve(ln) }()
				defer srv.Shutdown(context.Background())
			}
			<-ctx.Done()
			a.log.Info().Msg("stopping: waiting for running jobs")
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s.Stop(stopCtx)
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address for platform webhooks, e.g. 127.0.0.1:8080 (off when empty)")
	return cmd
}
