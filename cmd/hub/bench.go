package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	douyinsandbox "github.com/channelhub/channelhub/connectors/douyin/sandbox"
	taobaosandbox "github.com/channelhub/channelhub/connectors/taobao/sandbox"
	"github.com/channelhub/channelhub/connectors/taobao/top"
	"github.com/channelhub/channelhub/hub/engine"
	"github.com/channelhub/channelhub/hub/plugin"
	"github.com/channelhub/channelhub/hub/secret"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/hub/store/sqlite"
	"github.com/channelhub/channelhub/sdk"
)

func benchCmd(g *globals) *cobra.Command {
	var pluginsDir string
	var records, orders, qps int
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure sync throughput and memory against floors measured in the same run",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := g.stdout
			abs, err := pluginsDirOrBeside(pluginsDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "channelhub bench: %d synthetic members (~2.5 identifiers each), %d CPUs, %s\n\n", records, runtime.NumCPU(), runtime.Version())

			quiesce()
			stealTransport := startSteal()
			transport, err := benchTransport(ctx, abs, records)
			if err != nil {
				return fmt.Errorf("transport floor: %w", err)
			}
			fmt.Fprintf(out, "  transport floor  plugin → gRPC record batches, discarded         %9.0f records/s\n", transport)
			steal := []string{"transport " + stealText(stealTransport)}
			quiesce()
			stealInsert := startSteal()
			insert, err := benchInsert(ctx, records)
			if err != nil {
				return fmt.Errorf("insert floor: %w", err)
			}
			fmt.Fprintf(out, "  insert floor     the same rows, 1,000-row transactions, SQLite   %9.0f rows/s\n", insert)
			steal = append(steal, "insert "+stealText(stealInsert))
			tmp, err := os.MkdirTemp("", "hub-bench-e2e")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			quiesce()
			small, err := benchEndToEnd(ctx, abs, filepath.Join(tmp, "small"), records/10, "sequential")
			if err != nil {
				return fmt.Errorf("end to end (%d): %w", records/10, err)
			}
			quiesce()
			stealFull := startSteal()
			full, err := benchEndToEnd(ctx, abs, filepath.Join(tmp, "full"), records, "sequential")
			if err != nil {
				return fmt.Errorf("end to end (%d): %w", records, err)
			}
			steal = append(steal, "end to end "+stealText(stealFull))
			quiesce()
			stealRows := startSteal()
			rows, err := benchStoreRows(ctx, filepath.Join(tmp, "full", "data"), filepath.Join(tmp, "rows"))
			if err != nil {
				return fmt.Errorf("store rows floor: %w", err)
			}
			steal = append(steal, "store floor "+stealText(stealRows))
			fmt.Fprintf(out, "  store floor      the rows that sync stored, inserted alone       %9.0f records/s\n", rows.rate)
			fmt.Fprintf(out, "                   (%d members, %d records, %d identifier links; %d-record transactions, no lookups)\n", rows.members, rows.records, rows.links, engine.GroupRecords)
			fmt.Fprintf(out, "  end to end       plugin → gRPC → mapping → identity → SQLite     %9.0f records/s\n", full.rate)
			fmt.Fprintf(out, "                   = %.2f × transport floor, %.2f × insert floor, %.2f × store floor (bar: ≥ 50,000 records/s)\n", full.rate/transport, full.rate/insert, full.rate/rows.rate)
			fmt.Fprintf(out, "                   (%.1f s, %.1f s of CPU, the hub's and its plugin's)\n", full.took.Seconds(), full.cpu.Seconds())
			quiesce()
			stealRandom := startSteal()
			random, err := benchEndToEnd(ctx, abs, filepath.Join(tmp, "random"), records, "random")
			if err != nil {
				return fmt.Errorf("end to end, random ids: %w", err)
			}
			steal = append(steal, "random ids "+stealText(stealRandom))
			os.RemoveAll(filepath.Join(tmp, "random"))
			fmt.Fprintf(out, "  random ids       the same with ids in no order, as real openids   %9.0f records/s = %.2f × sequential ids\n", random.rate, random.rate/full.rate)
			fmt.Fprintf(out, "  peak RSS (hub)   %d records: %d MB; %d records: %d MB; random ids: %d MB (bar: < 300 MB whatever the count)\n",
				records/10, small.rssMB, records, full.rssMB, random.rssMB)
			for _, p := range []string{"taobao", "douyin"} {
				quiesce()
				b, err := benchBackfill(ctx, abs, p, orders, qps)
				if err != nil {
					return fmt.Errorf("%s backfill: %w", p, err)
				}
				fmt.Fprintf(out, "  backfill %-7s %d orders, %d a page, sandbox at %d requests/s, hub limiter at %.0f%%: %d requests in %.1f s\n", p, orders, b.page, qps, hubShare*100, b.requests, b.took.Seconds())
				fmt.Fprintf(out, "                   = %.1f requests/s = %.2f × allowed (bar: ≥ 0.9), %d throttled, %.0f orders/s, %d stored\n",
					float64(b.requests)/b.took.Seconds(), float64(b.requests)/b.took.Seconds()/float64(qps), b.throttled, float64(b.stored)/b.took.Seconds(), b.stored)
			}
			fmt.Fprintf(out, "  identity         %d records → %d identifier links → %d members (%d merges)\n", records, full.links, full.members, full.merges)
			fmt.Fprintf(out, "                   resolved end to end at %9.0f links/s (bar: ≥ 100,000 links/s), peak RSS %d MB\n", float64(full.links)/full.took.Seconds(), full.rssMB)
			fmt.Fprintf(out, "  host steal       %s of the machine's CPU time, taken by other guests of its host\n", strings.Join(steal, ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&pluginsDir, "plugins-dir", "", "directory of built plugins (default: plugins beside the hub binary)")
	cmd.Flags().IntVar(&records, "records", 1_000_000, "records per run")
	cmd.Flags().IntVar(&orders, "orders", 200_000, "orders per platform backfill")
	cmd.Flags().IntVar(&qps, "qps", 20, "requests/s the platform sandboxes allow in the backfill runs")
	return cmd
}

// quiesce flushes the file writes of earlier runs (a 1M-member store is
// ~1 GB), so that their write-back does not slow the next measurement.
func quiesce() { syscall.Sync() }

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

// storeRows is what benchStoreRows copied and how fast.
type storeRows struct {
	rate                    float64
	members, records, links int64
}

// benchStoreRows measures the store side of a sync with everything but the
// writing taken away: the members, records and identifier links the sync
// left in the store at from are read back, a group at a time, in the order
// the sync wrote them, and inserted into a fresh store in dir in
// transactions of the engine's group size, the links and records' platform
// ids as the store writes them (into links_new and record_ids_new, merged
// at the store's thresholds). Only
// the transactions are timed. The statements are schema-agnostic (SELECT * / INSERT VALUES), so
// the rows are the store's own whatever its columns.
func benchStoreRows(ctx context.Context, from, dir string) (storeRows, error) {
	var res storeRows
	box, _ := secret.New(make([]byte, secret.KeySize)) // nothing is decrypted
	fromStore, err := sqlite.Open(ctx, filepath.Join(from, "hub.db"), box, sqlite.Options{})
	if err != nil {
		return res, err
	}
	defer fromStore.Close()
	src := fromStore.DB()
	// The copy reads a group's links by record; the store has no index for
	// that (it looks links up by identifier), so the copy adds one to the
	// tables that hold them.
	for _, q := range []string{
		`CREATE INDEX IF NOT EXISTS bench_links_src ON links (src)`,
		`CREATE INDEX IF NOT EXISTS bench_links_mid_src ON links_mid (src)`,
		`CREATE INDEX IF NOT EXISTS bench_links_new_src ON links_new (src)`,
	} {
		if _, err := src.ExecContext(ctx, q); err != nil {
			return res, err
		}
	}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "hub.db"), box, sqlite.Options{})
	if err != nil {
		return res, err
	}
	defer st.Close()
	dst := st.DB()
	var took time.Duration
	var lastMember string
	for lo := int64(0); ; lo += engine.GroupRecords {
		hi := lo + engine.GroupRecords
		sources, err := benchRows(ctx, src, `SELECT * FROM sources WHERE id >= ? AND id < ? ORDER BY id`, lo, hi)
		if err != nil {
			return res, err
		}
		if sources.n == 0 {
			if lo > 0 {
				break
			}
			continue // ids start at 1
		}
		var upto string
		if err := src.QueryRowContext(ctx, `SELECT max(member_id) FROM sources WHERE id >= ? AND id < ?`, lo, hi).Scan(&upto); err != nil {
			return res, err
		}
		members, err := benchRows(ctx, src, `SELECT * FROM members WHERE member_id > ? AND member_id <= ? ORDER BY member_id`, lastMember, upto)
		if err != nil {
			return res, err
		}
		lastMember = max(lastMember, upto)
		links, err := benchRows(ctx, src, `SELECT * FROM identifier_links WHERE src >= ? AND src < ? ORDER BY src`, lo, hi)
		if err != nil {
			return res, err
		}
		ids, err := benchRows(ctx, src, `SELECT tenant, connection, stream, record_id, id FROM sources WHERE id >= ? AND id < ? ORDER BY id`, lo, hi)
		if err != nil {
			return res, err
		}
		start := time.Now()
		tx, err := dst.BeginTx(ctx, nil)
		if err != nil {
			return res, err
		}
		for _, t := range []struct {
			table string
			rows  tableRows
		}{{"members", members}, {"sources", sources}, {"record_ids_new", ids}, {"links_new", links}} {
			if err := t.rows.insert(ctx, tx, t.table); err != nil {
				tx.Rollback()
				return res, fmt.Errorf("insert %s: %w", t.table, err)
			}
		}
		if err := sqlite.MergeStaged(ctx, tx, sqlite.DefaultMergeLinksAt); err != nil {
			tx.Rollback()
			return res, err
		}
		if err := tx.Commit(); err != nil {
			return res, err
		}
		took += time.Since(start)
		res.members += int64(members.n)
		res.records += int64(sources.n)
		res.links += int64(links.n)
	}
	res.rate = float64(res.records) / took.Seconds()
	return res, nil
}

// tableRows holds n rows of width columns, flattened.
type tableRows struct {
	width, n int
	vals     []any
}

func benchRows(ctx context.Context, db *sql.DB, query string, args ...any) (tableRows, error) {
	var t tableRows
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return t, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return t, err
	}
	t.width = len(cols)
	for rows.Next() {
		row := make([]any, t.width)
		ptrs := make([]any, t.width)
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return t, err
		}
		t.vals = append(t.vals, row...)
		t.n++
	}
	return t, rows.Err()
}

// insert writes the rows into table in statements of up to 200 rows, as
// the store writes new records.
func (t tableRows) insert(ctx context.Context, tx *sql.Tx, table string) error {
	row := "(?" + strings.Repeat(",?", t.width-1) + ")"
	for vals := t.vals; len(vals) > 0; {
		n := min(len(vals)/t.width, 200)
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+table+" VALUES "+row+strings.Repeat(","+row, n-1), vals[:n*t.width]...); err != nil {
			return err
		}
		vals = vals[n*t.width:]
	}
	return nil
}

type e2eResult struct {
	rate  float64
	took  time.Duration
	rssMB int64
	// cpu is the CPU time the sync used, the hub's and its plugin's (wait4
	// counts a child's reaped children in its usage).
	cpu             time.Duration
	members, merges int64
	links           int64
}

// benchEndToEnd runs `hub sync` of a synthetic job in a child process, so
// the peak RSS measured is the hub's alone. The store it wrote is left in
// dir's data directory.
func benchEndToEnd(ctx context.Context, pluginsDir, dir string, n int, ids string) (e2eResult, error) {
	var res e2eResult
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return res, err
	}
	cfg := fmt.Sprintf(`data_dir: %s
plugins_dir: %s
tenants:
  - id: bench
    connections:
      - id: synthetic
        connector: synthetic
        config: {records: %d, ids: %s}
    jobs:
      - id: members
        connection: synthetic
        read: [members]
        mode: full
`, filepath.Join(dir, "data"), pluginsDir, n, ids)
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
	if err := cmd.Start(); err != nil {
		return res, err
	}
	peak := watchPeakRSS(cmd.Process.Pid)
	err = cmd.Wait()
	took := time.Since(start)
	res.rssMB = peak() >> 20
	res.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if err != nil {
		return res, fmt.Errorf("%w: %s", err, stderr.String())
	}
	var r engine.Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return res, fmt.Errorf("sync output: %w", err)
	}
	if r.Records() != int64(n) {
		return res, fmt.Errorf("synced %d records, want %d", r.Records(), n)
	}
	res.rate, res.took = float64(n)/took.Seconds(), took
	// What the identity step made of it, read back from the store.
	stats, err := benchStats(ctx, filepath.Join(dir, "data"))
	if err != nil {
		return res, err
	}
	res.members, res.merges, res.links = stats.Members, stats.Merges, stats.Links
	return res, nil
}

// hubShare is the share of a platform's per-second limit the bench gives the
// hub's limiter: the limiter keeps floor(rate) requests in any second as they
// leave, but they arrive after uneven latencies, so two a second apart can
// land in one of the platform's clock seconds; one request of slack absorbs it.
const hubShare = 0.96

type backfillResult struct {
	page                int
	stored              int64
	requests, throttled int64
	took                time.Duration
}

// benchBackfill backfills n orders from a platform sandbox that allows qps
// requests/s, with the hub's limiter set to the same figure, through a
// `hub sync` child process.
func benchBackfill(ctx context.Context, pluginsDir, platform string, n, qps int) (backfillResult, error) {
	var res backfillResult
	var h http.Handler
	var conn map[string]any
	var counts func() (int64, int64)
	// readable counts the orders a sync starting at start reads: those
	// updated before its lag (1 minute, the connectors' default).
	var readable func(start time.Time) int64
	switch platform {
	case "taobao":
		s := taobaosandbox.New(taobaosandbox.Config{Members: 3000, Orders: n, QPS: qps})
		c := s.Config()
		h, res.page = s, 100
		conn = map[string]any{"app_key": c.AppKey, "app_secret": c.AppSecret, "session": c.Session, "shop": c.SellerID, "brand": c.Brand, "page_size": res.page}
		counts = func() (int64, int64) { return s.Requests(), s.Throttled() }
		readable = func(start time.Time) int64 {
			var k int64
			for i := range s.TradeCount() {
				tr, _ := s.Trade(s.TID(i))
				if m, err := top.ParseTime(tr.Modified); err == nil && !m.After(start.Add(-time.Minute)) {
					k++
				}
			}
			return k
		}
	case "douyin":
		s := douyinsandbox.New(douyinsandbox.Config{Members: 3000, Orders: n, QPS: qps})
		c := s.Config()
		h, res.page = s, 100
		conn = map[string]any{"app_key": c.AppKey, "app_secret": c.AppSecret, "shop_id": c.ShopID, "member_app_id": c.MemberAppID, "brand": c.Brand, "page_size": res.page}
		counts = func() (int64, int64) { return s.Requests(), s.Throttled() }
		readable = func(start time.Time) int64 {
			var k int64
			for i := range s.OrderCount() {
				o, _ := s.Order(s.OrderID(i))
				if !time.Unix(o.UpdateTime, 0).After(start.Add(-time.Minute)) {
					k++
				}
			}
			return k
		}
	default:
		return res, fmt.Errorf("no backfill bench for %s", platform)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	conn["api_base"] = "http://" + ln.Addr().String()
	dir, err := os.MkdirTemp("", "hub-bench-backfill")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	cfgJSON, err := json.Marshal(conn)
	if err != nil {
		return res, err
	}
	cfg := fmt.Sprintf(`data_dir: %s
plugins_dir: %s
tenants:
  - id: bench
    connections:
      - id: shop
        connector: %s
        config: %s
        rate_limits: {"*": %.2f}
    jobs:
      - id: orders
        connection: shop
        read: [orders]
        mode: full
`, filepath.Join(dir, "data"), pluginsDir, platform, cfgJSON, hubShare*float64(qps))
	cfgPath := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return res, err
	}
	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, self, "--config", cfgPath, "--log-level", "warn", "sync", "orders", "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	before, _ := counts()
	want := readable(time.Now())
	// The clock runs from the first request to the end of the sync: plugin
	// start-up is not the platform's time.
	first := make(chan time.Time, 1)
	watch, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go func() {
		for watch.Err() == nil {
			if n, _ := counts(); n > before {
				first <- time.Now()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("%w: %s", err, stderr.String())
	}
	end := time.Now()
	stopWatch()
	select {
	case t := <-first:
		res.took = end.Sub(t)
	default:
		return res, fmt.Errorf("the sandbox saw no request")
	}
	var r engine.Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return res, fmt.Errorf("sync output: %w", err)
	}
	// A platform that moves orders while they are read delivers some twice
	// (the store keeps one): count what was stored.
	stats, err := benchStats(ctx, filepath.Join(dir, "data"))
	if err != nil {
		return res, err
	}
	// Orders updated within the lag are the next run's; a slow start may
	// let a few more age into this one.
	if stats.Orders < want || stats.Orders > int64(n) {
		return res, fmt.Errorf("stored %d orders (read %d), want %d to %d", stats.Orders, r.Records(), want, n)
	}
	res.stored = stats.Orders
	requests, throttled := counts()
	res.requests, res.throttled = requests-before, throttled
	return res, nil
}

// benchStats opens the store a bench run left in dataDir and counts what
// tenant "bench" holds.
func benchStats(ctx context.Context, dataDir string) (store.Stats, error) {
	key, err := secret.LoadOrCreateKey(filepath.Join(dataDir, "secret.key"))
	if err != nil {
		return store.Stats{}, err
	}
	box, err := secret.New(key)
	if err != nil {
		return store.Stats{}, err
	}
	st, err := sqlite.Open(ctx, filepath.Join(dataDir, "hub.db"), box, sqlite.Options{})
	if err != nil {
		return store.Stats{}, err
	}
	defer st.Close()
	return st.Stats(ctx, "bench")
}
