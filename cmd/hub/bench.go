package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/channelhub/channelhub/hub/engine"
	"github.com/channelhub/channelhub/hub/plugin"
	"github.com/channelhub/channelhub/hub/secret"
	"github.com/channelhub/channelhub/hub/store/sqlite"
	"github.com/channelhub/channelhub/sdk"
)

func benchCmd(g *globals) *cobra.Command {
	var pluginsDir string
	var records int
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure sync throughput and memory against floors measured in the same run",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := g.stdout
			abs, err := filepath.Abs(pluginsDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "channelhub bench: %d synthetic members (~2.5 identifiers each), %d CPUs, %s\n\n", records, runtime.NumCPU(), runtime.Version())

			transport, err := benchTransport(ctx, abs, records)
			if err != nil {
				return fmt.Errorf("transport floor: %w", err)
			}
			fmt.Fprintf(out, "  transport floor  plugin → gRPC record batches, discarded         %9.0f records/s\n", transport)
			insert, err := benchInsert(ctx, records)
			if err != nil {
				return fmt.Errorf("insert floor: %w", err)
			}
			fmt.Fprintf(out, "  insert floor     the same rows, 1,000-row transactions, SQLite   %9.0f rows/s\n", insert)
			small, err := benchEndToEnd(ctx, abs, records/10)
			if err != nil {
				return fmt.Errorf("end to end (%d): %w", records/10, err)
			}
			full, err := benchEndToEnd(ctx, abs, records)
			if err != nil {
				return fmt.Errorf("end to end (%d): %w", records, err)
			}
			fmt.Fprintf(out, "  end to end       plugin → gRPC → mapping → identity → SQLite     %9.0f records/s\n", full.rate)
			fmt.Fprintf(out, "                   = %.2f × transport floor, %.2f × insert floor (bar: ≥ 50,000 records/s)\n", full.rate/transport, full.rate/insert)
			fmt.Fprintf(out, "  peak RSS (hub)   %d records: %d MB; %d records: %d MB (bar: < 300 MB whatever the count)\n",
				records/10, small.rssMB, records, full.rssMB)
			fmt.Fprintf(out, "  identity         %d records → %d identifier links → %d members (%d merges)\n", records, full.links, full.members, full.merges)
			fmt.Fprintf(out, "                   resolved end to end at %9.0f links/s (bar: ≥ 100,000 links/s), peak RSS %d MB\n", float64(full.links)/full.took.Seconds(), full.rssMB)
			return nil
		},
	}
	cmd.Flags().StringVar(&pluginsDir, "plugins-dir", "bin/plugins", "directory of built plugins")
	cmd.Flags().IntVar(&records, "records", 1_000_000, "records per run")
	return cmd
}

// benchTransport reads the synthetic stream over go-plugin gRPC and drops it.
func benchTransport(ctx context.Context, dir string, n int) (float64, error) {
	cat, err := plugin.LoadCatalog(dir)
	if err != nil {
		return 0, err
	}
	m := plugin.NewManager(cat, zerolog.Nop(), plugin.Options{})
	defer m.Shutdown()
	inst, err := m.Instance("bench", "synthetic", "synthetic", nil)
	if err != nil {
		return 0, err
	}
	r, err := inst.Remote(ctx)
	if err != nil {
		return 0, err
	}
	cfg := []byte(fmt.Sprintf(`{"records":%d}`, n))
	start := time.Now()
	rs, err := r.Read(ctx, cfg, sdk.ReadRequest{Stream: "members", Mode: sdk.ModeFull})
	if err != nil {
		return 0, err
	}
	got := 0
	for {
		msg, err := rs.Next()
		if err == io.EOF || msg.Done {
			break
		}
		if err != nil {
			return 0, err
		}
		got += len(msg.Records)
	}
	if got != n {
		return 0, fmt.Errorf("read %d records, want %d", got, n)
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// benchInsert inserts n rows shaped like the store's source rows into a bare
// table of a fresh store file, in 1,000-row transactions.
func benchInsert(ctx context.Context, n int) (float64, error) {
	dir, err := os.MkdirTemp("", "hub-bench-insert")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	box, _ := secret.New(make([]byte, secret.KeySize))
	st, err := sqlite.Open(ctx, filepath.Join(dir, "hub.db"), box, sqlite.Options{})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	db := st.DB()
	if _, err := db.ExecContext(ctx, `CREATE TABLE bench (tenant TEXT, connection TEXT, record_id TEXT, data BLOB, PRIMARY KEY (tenant, connection, record_id))`); err != nil {
		return 0, err
	}
	row := bytes.Repeat([]byte("x"), 300) // the size of a stored member record
	start := time.Now()
	for i := 0; i < n; i += 1000 {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO bench VALUES (?, ?, ?, ?)`)
		if err != nil {
			return 0, err
		}
		for j := i; j < min(i+1000, n); j++ {
			if _, err := stmt.ExecContext(ctx, "bench", "synthetic", fmt.Sprintf("syn-%d", j), row); err != nil {
				return 0, err
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

type e2eResult struct {
	rate            float64
	took            time.Duration
	rssMB           int64
	members, merges int64
	links           int64
}

// benchEndToEnd runs `hub sync` of a synthetic job in a child process, so
// the peak RSS measured is the hub's alone.
func benchEndToEnd(ctx context.Context, pluginsDir string, n int) (e2eResult, error) {
	var res e2eResult
	dir, err := os.MkdirTemp("", "hub-bench-e2e")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	cfg := fmt.Sprintf(`data_dir: %s
plugins_dir: %s
tenants:
  - id: bench
    connections:
      - id: synthetic
        connector: synthetic
        config: {records: %d}
    jobs:
      - id: members
        connection: synthetic
        read: [members]
        mode: full
`, filepath.Join(dir, "data"), pluginsDir, n)
	cfgPath := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return res, err
	}
	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, self, "--config", cfgPath, "--log-level", "warn", "sync", "members", "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("%w: %s", err, stderr.String())
	}
	took := time.Since(start)
	var r engine.Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return res, fmt.Errorf("sync output: %w", err)
	}
	if r.Records() != int64(n) {
		return res, fmt.Errorf("synced %d records, want %d", r.Records(), n)
	}
	res.rate, res.took = float64(n)/took.Seconds(), took
	// What the identity step made of it, read back from the store.
	key, err := secret.LoadOrCreateKey(filepath.Join(dir, "data", "secret.key"))
	if err != nil {
		return res, err
	}
	box, err := secret.New(key)
	if err != nil {
		return res, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "data", "hub.db"), box, sqlite.Options{})
	if err != nil {
		return res, err
	}
	defer st.Close()
	stats, err := st.Stats(ctx, "bench")
	if err != nil {
		return res, err
	}
	res.members, res.merges, res.links = stats.Members, stats.Merges, stats.Links
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.rssMB = ru.Maxrss / 1024
	}
	return res, nil
}
