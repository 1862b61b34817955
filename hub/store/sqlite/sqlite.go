// Package sqlite is the embedded default store: one SQLite file under the
// hub's data directory, nothing to install. It uses WAL journaling and
// immediate write transactions, so readers never block the sync engine and
// writers queue instead of failing.
package sqlite

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/channelhub/channelhub/hub/periodic"
	"github.com/channelhub/channelhub/hub/secret"
	"github.com/channelhub/channelhub/hub/store"
)

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	db  *sql.DB
	box *secret.Box
	now func() time.Time
	// mergeLinksAt: links_new and record_ids_new are merged into the
	// middle tables once they hold this many rows (see MergeStaged).
	mergeLinksAt int

	mu    sync.Mutex
	salts map[string][]byte // tenant → phone salt, once read

	filters keyFilters

	// host and owner name this process in the runs it leases (host/pid).
	host, owner string

	stopCheckpoints func()
}

var _ store.Store = (*Store)(nil)

// Options configure Open. The zero value of each field is its default.
type Options struct {
	// Now is the clock used for bookkeeping times; default time.Now.
	Now func() time.Time
	// MergeLinksAt is how many new identifier links (and records' platform
	// ids) wait in links_new (record_ids_new) before they are merged into
	// links_mid (record_ids_mid), which are merged into links (record_ids)
	// at ten times that; default 50,000 (DefaultMergeLinksAt).
	MergeLinksAt int
	// KeyFilterAfter is how many identifiers the store looks up in the
	// index, for a tenant that has links but no key filter, before it
	// builds one from the index (and only once that is also half the
	// store's records); default 100,000. -1 turns key filters off.
	KeyFilterAfter int
}

// Open opens (creating if needed) the database file at path and applies
// pending migrations. box encrypts phones and config patches at rest.
func Open(ctx context.Context, path string, box *secret.Box, opts Options) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	dsn := "file:" + path + "?_synchronous=NORMAL&_busy_timeout=10000&_txlock=immediate&_foreign_keys=on&_cache_size=-16384"
	// A connector rather than sql.Open: the connect hook sets per-connection
	// pragmas without registering a driver globally.
	drv := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		// The WAL is checkpointed in the background (see checkpoints);
		// a writer checkpoints itself only if the WAL passes ~400 MB.
		// 8 KiB pages (set before the file's first table; a no-op after):
		// fewer, fuller pages for the random index inserts of a bulk read.
		// WAL after it, since the page size cannot change in WAL mode.
		if _, err := c.Exec("PRAGMA page_size = 8192; PRAGMA journal_mode = WAL", nil); err != nil {
			return err
		}
		if _, err := c.Exec("PRAGMA wal_autocheckpoint = 50000", nil); err != nil {
			return err
		}
		// Deleted rows are zeroed in their pages: an erased person's data
		// does not linger in free space (PIPL).
		_, err := c.Exec("PRAGMA secure_delete = FAST", nil)
		return err
	}}
	db := sql.OpenDB(connector{drv: drv, dsn: dsn})
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MergeLinksAt <= 0 {
		opts.MergeLinksAt = DefaultMergeLinksAt
	}
	s := &Store{db: db, box: box, now: opts.Now, mergeLinksAt: opts.MergeLinksAt, salts: map[string][]byte{}, filters: newKeyFilters(opts.KeyFilterAfter)}
	s.host, _ = os.Hostname()
	s.owner = s.host + "/" + strconv.Itoa(os.Getpid())
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate store %s: %w", path, err)
	}
	s.stopCheckpoints = s.checkpoints(checkpointEvery)
	return s, nil
}

// checkpointEvery is how often the background checkpoint runs.
const checkpointEvery = 250 * time.Millisecond

// checkpoints copies committed WAL frames into the database file on its own
// goroutine until the returned func is called. A passive checkpoint never
// blocks writers, so a sync's transactions do not wait for the copy and its
// fsyncs; the WAL restarts from its beginning once a checkpoint caught up.
// The goroutine keeps one OS thread, which runs at a lower CPU priority
// (see background): on a busy machine the copy, which can wait, yields the
// CPU to the writer, which a sync waits for.
func (s *Store) checkpoints(every time.Duration) (stop func()) {
	lowered := false
	return periodic.Run(context.Background(), every, func(ctx context.Context) {
		if !lowered {
			// Once lowered, never unlocked: the thread ends with the
			// goroutine instead of going back to the runtime at the lower
			// priority. A thread background leaves alone (the main thread,
			// which the runtime would keep) goes back at once, and the next
			// tick tries again.
			runtime.LockOSThread()
			if lowered = background(); !lowered {
				runtime.UnlockOSThread()
			}
		}
		// A failed checkpoint is retried at the next tick; a writer still
		// checkpoints itself past the threshold.
		_, _ = s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
	})
}

// connector opens connections of one DSN through one driver value.
type connector struct {
	drv *sqlite3.SQLiteDriver
	dsn string
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// DB exposes the database handle for tests and tools.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error {
	s.stopCheckpoints()
	return s.db.Close()
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	var have int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return err
	}
	if have > len(migrations) {
		return fmt.Errorf("database is at schema version %d, newer than this hub knows (%d): upgrade the hub", have, len(migrations))
	}
	scrub := false
	for v := have + 1; v <= len(migrations); v++ {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			rewrote, err := s.migrateData(ctx, tx, v)
			if err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			scrub = scrub || rewrote
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, s.now().Unix())
			return err
		})
		if err != nil {
			return err
		}
	}
	if !scrub {
		return nil
	}
	// The rewritten pages replace their clear versions in the database
	// file, and the WAL, which may still hold clear versions in frames
	// written before, is cut to nothing. Another process reading the store
	// can keep the checkpoint from finishing; the WAL is then reset by a
	// later checkpoint and removed when the last connection closes.
	var busy, frames, copied int
	if err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &copied); err != nil {
		return fmt.Errorf("checkpoint after migration: %w", err)
	}
	return nil
}

// tx runs fn in a transaction, committing when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// EnsureTenant implements store.Store.
func (s *Store) EnsureTenant(ctx context.Context, tenant string, salt []byte) ([]byte, error) {
	var stored []byte
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT phone_salt FROM tenants WHERE id = ?`, tenant).Scan(&stored)
		if err == nil {
			plain, err := s.box.Open(stored)
			if err != nil {
				return fmt.Errorf("tenant %s phone salt: %w", tenant, err)
			}
			if len(salt) > 0 && string(salt) != string(plain) {
				return fmt.Errorf("tenant %s: phone_salt in the config differs from the one its members were stored with; phone matching would break", tenant)
			}
			stored = plain
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if len(salt) == 0 {
			salt = make([]byte, 32)
			if _, err := rand.Read(salt); err != nil {
				return err
			}
		}
		stored = salt
		_, err = tx.ExecContext(ctx, `INSERT INTO tenants (id, phone_salt) VALUES (?, ?)`, tenant, s.box.Seal(salt))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ensure tenant %s: %w", tenant, err)
	}
	return stored, nil
}

// StreamState implements store.Store.
func (s *Store) StreamState(ctx context.Context, tenant, job, stream string) (store.StreamState, error) {
	st := store.StreamState{Tenant: tenant, Job: job, Stream: stream}
	var updated int64
	err := s.db.QueryRowContext(ctx, `SELECT checkpoint, records, status, last_error, updated_at FROM stream_state WHERE tenant = ? AND job = ? AND stream = ?`,
		tenant, job, stream).Scan(&st.Checkpoint, &st.Records, &st.Status, &st.LastError, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("stream state %s/%s/%s: %w", tenant, job, stream, err)
	}
	st.UpdatedAt = time.Unix(updated, 0).UTC()
	return st, nil
}

// ListStreamStates implements store.Store.
func (s *Store) ListStreamStates(ctx context.Context, tenant string) ([]store.StreamState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tenant, job, stream, checkpoint, records, status, last_error, updated_at FROM stream_state
		WHERE ? = '' OR tenant = ? ORDER BY tenant, job, stream`, tenant, tenant)
	if err != nil {
		return nil, fmt.Errorf("list stream states: %w", err)
	}
	defer rows.Close()
	var out []store.StreamState
	for rows.Next() {
		var st store.StreamState
		var updated int64
		if err := rows.Scan(&st.Tenant, &st.Job, &st.Stream, &st.Checkpoint, &st.Records, &st.Status, &st.LastError, &updated); err != nil {
			return nil, err
		}
		st.UpdatedAt = time.Unix(updated, 0).UTC()
		out = append(out, st)
	}
	return out, rows.Err()
}

// ResetStream implements store.Store.
func (s *Store) ResetStream(ctx context.Context, tenant, job, stream string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE stream_state SET checkpoint = NULL, status = 'reset', last_error = '', updated_at = ? WHERE tenant = ? AND job = ? AND stream = ?`,
		s.now().Unix(), tenant, job, stream)
	if err != nil {
		return fmt.Errorf("reset stream %s/%s/%s: %w", tenant, job, stream, err)
	}
	return nil
}

// SetStreamStatus implements store.Store.
func (s *Store) SetStreamStatus(ctx context.Context, tenant, job, stream, status, lastErr string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO stream_state (tenant, job, stream, status, last_error, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant, job, stream) DO UPDATE SET status = excluded.status, last_error = excluded.last_error, updated_at = excluded.updated_at`,
		tenant, job, stream, status, lastErr, s.now().Unix())
	if err != nil {
		return fmt.Errorf("set stream status %s/%s/%s: %w", tenant, job, stream, err)
	}
	return nil
}

// ConfigPatch implements store.Store.
func (s *Store) ConfigPatch(ctx context.Context, tenant, connection string) ([]byte, error) {
	var sealed []byte
	err := s.db.QueryRowContext(ctx, `SELECT patch FROM connection_patches WHERE tenant = ? AND connection = ?`, tenant, connection).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config patch %s/%s: %w", tenant, connection, err)
	}
	return s.box.Open(sealed)
}

// ResetConfigPatch implements store.Store.
func (s *Store) ResetConfigPatch(ctx context.Context, tenant, connection string) ([]string, error) {
	var fields []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var sealed []byte
		err := tx.QueryRowContext(ctx, `SELECT patch FROM connection_patches WHERE tenant = ? AND connection = ?`, tenant, connection).Scan(&sealed)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		// The names are read to report them; a patch that cannot be opened
		// is deleted all the same.
		if plain, err := s.box.Open(sealed); err == nil {
			var m map[string]json.RawMessage
			if json.Unmarshal(plain, &m) == nil {
				fields = slices.Sorted(maps.Keys(m))
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM connection_patches WHERE tenant = ? AND connection = ?`, tenant, connection)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reset config patch %s/%s: %w", tenant, connection, err)
	}
	return fields, nil
}

// SaveConfigPatch implements store.Store.
func (s *Store) SaveConfigPatch(ctx context.Context, tenant, connection string, patch []byte) error {
	var add map[string]any
	if err := json.Unmarshal(patch, &add); err != nil {
		return fmt.Errorf("config patch for %s/%s is not a JSON object: %w", tenant, connection, err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		merged := map[string]any{}
		var sealed []byte
		err := tx.QueryRowContext(ctx, `SELECT patch FROM connection_patches WHERE tenant = ? AND connection = ?`, tenant, connection).Scan(&sealed)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			plain, err := s.box.Open(sealed)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(plain, &merged); err != nil {
				return err
			}
		}
		for k, v := range add {
			merged[k] = v
		}
		b, _ := json.Marshal(merged)
		_, err = tx.ExecContext(ctx, `INSERT INTO connection_patches (tenant, connection, patch, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant, connection) DO UPDATE SET patch = excluded.patch, updated_at = excluded.updated_at`,
			tenant, connection, s.box.Seal(b), s.now().Unix())
		return err
	})
}

// StartRun implements store.Store.
func (s *Store) StartRun(ctx context.Context, tenant, job string, at time.Time) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		type running struct {
			id, heartbeat int64
			owner         string
		}
		var live []running
		err := eachRow(ctx, tx, `SELECT id, owner, COALESCE(heartbeat_at, started_at) FROM runs WHERE tenant = ? AND job = ? AND status = 'running'`, []any{tenant, job}, func(r *sql.Rows) error {
			var x running
			err := r.Scan(&x.id, &x.owner, &x.heartbeat)
			live = append(live, x)
			return err
		})
		if err != nil {
			return err
		}
		for _, x := range live {
			last := time.UnixMilli(x.heartbeat)
			if s.runnerAlive(x.owner, last, at) {
				return fmt.Errorf("%w: run %d, started by hub process %s, alive at %s", store.ErrRunInProgress, x.id, cmp.Or(x.owner, "?"), last.UTC().Format(time.RFC3339))
			}
			// Its process is gone (killed, or the machine stopped): the
			// run ended where its last heartbeat says.
			if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ?`,
				x.heartbeat, "the hub process running it ("+cmp.Or(x.owner, "?")+") stopped before it finished", x.id); err != nil {
				return err
			}
		}
		if len(live) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE stream_state SET status = 'interrupted' WHERE tenant = ? AND job = ? AND status = 'running'`, tenant, job); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO runs (tenant, job, started_at, status, owner, heartbeat_at) VALUES (?, ?, ?, 'running', ?, ?)`,
			tenant, job, at.UnixMilli(), s.owner, at.UnixMilli())
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("start run %s/%s: %w", tenant, job, err)
	}
	return id, nil
}

// staleRun is how long a run's lease lasts without a heartbeat: a run
// whose process cannot be seen (another host) or whose pid may have been
// reused is taken as gone after it.
const staleRun = 2 * time.Minute

// runnerAlive says whether the process that owns a run still runs it: on
// this host, its pid is alive and it beat lately; elsewhere, it beat
// lately.
func (s *Store) runnerAlive(owner string, last, now time.Time) bool {
	// This process's own: the engine keeps its runs of a job apart, so a
	// run of ours still marked running was left by a store closed mid-run.
	if owner == s.owner || now.Sub(last) > staleRun {
		return false
	}
	host, pid, ok := strings.Cut(owner, "/")
	if !ok || host != s.host {
		return true
	}
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return false
	}
	err = syscall.Kill(n, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Heartbeat implements store.Store.
func (s *Store) Heartbeat(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'`, at.UnixMilli(), id); err != nil {
		return fmt.Errorf("heartbeat of run %d: %w", id, err)
	}
	return nil
}

// SchedulerBeat implements store.Store.
func (s *Store) SchedulerBeat(ctx context.Context, started, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO schedulers (owner, started_at, heartbeat_at) VALUES (?, ?, ?)
		ON CONFLICT (owner) DO UPDATE SET started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
		s.owner, started.UnixMilli(), at.UnixMilli())
	if err != nil {
		return fmt.Errorf("record the scheduler of %s: %w", s.owner, err)
	}
	return nil
}

// SchedulerStopped implements store.Store.
func (s *Store) SchedulerStopped(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM schedulers WHERE owner = ?`, s.owner); err != nil {
		return fmt.Errorf("record the scheduler of %s stopped: %w", s.owner, err)
	}
	return nil
}

// Schedulers implements store.Store. A process is taken as gone the way a
// run's is (runnerAlive); this process's own entry is alive while it beats.
func (s *Store) Schedulers(ctx context.Context, now time.Time) ([]store.Scheduler, error) {
	var out []store.Scheduler
	err := eachRow(ctx, s.db, `SELECT owner, started_at, heartbeat_at FROM schedulers ORDER BY started_at, owner`, nil, func(r *sql.Rows) error {
		var owner string
		var started, beat int64
		if err := r.Scan(&owner, &started, &beat); err != nil {
			return err
		}
		last := time.UnixMilli(beat)
		if (owner == s.owner && now.Sub(last) <= staleRun) || s.runnerAlive(owner, last, now) {
			out = append(out, store.Scheduler{Process: owner, StartedAt: time.UnixMilli(started).UTC(), HeartbeatAt: time.UnixMilli(beat).UTC()})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list schedulers: %w", err)
	}
	return out, nil
}

// FinishRun implements store.Store.
func (s *Store) FinishRun(ctx context.Context, id int64, r store.RunResult) error {
	_, err := s.db.ExecContext(ctx, `UPDATE runs SET finished_at = ?, status = ?, records = ?, error = ? WHERE id = ?`, r.At.UnixMilli(), r.Status, r.Records, r.Error, id)
	if err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	return nil
}

// Runs implements store.Store.
func (s *Store) Runs(ctx context.Context, tenant string, limit int) ([]store.Run, error) {
	return s.runs(ctx, `SELECT id, tenant, job, started_at, COALESCE(finished_at, 0), status, records, error FROM runs
		WHERE ?1 = '' OR tenant = ?1 ORDER BY id DESC LIMIT ?2`, tenant, limit)
}

// LastRuns implements store.Store.
func (s *Store) LastRuns(ctx context.Context, tenant string) ([]store.Run, error) {
	return s.runs(ctx, `SELECT id, tenant, job, started_at, COALESCE(finished_at, 0), status, records, error FROM runs
		WHERE id IN (SELECT MAX(id) FROM runs WHERE ?1 = '' OR tenant = ?1 GROUP BY tenant, job) ORDER BY tenant, job`, tenant)
}

func (s *Store) runs(ctx context.Context, query string, args ...any) ([]store.Run, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []store.Run
	for rows.Next() {
		var r store.Run
		var started, finished int64
		if err := rows.Scan(&r.ID, &r.Tenant, &r.Job, &started, &finished, &r.Status, &r.Records, &r.Error); err != nil {
			return nil, err
		}
		r.StartedAt = time.UnixMilli(started).UTC()
		if finished > 0 {
			r.At = time.UnixMilli(finished).UTC()
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Outbox implements store.Store.
func (s *Store) Outbox(ctx context.Context, tenant string) ([]store.OutboxCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tenant, connection, type,
		SUM(status = 'pending'), SUM(status = 'delivered'), SUM(status = 'failed'), SUM(status = 'refused')
		FROM outbox WHERE ? = '' OR tenant = ? GROUP BY tenant, connection, type ORDER BY tenant, connection, type`, tenant, tenant)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxCount
	for rows.Next() {
		var c store.OutboxCount
		if err := rows.Scan(&c.Tenant, &c.Connection, &c.Action, &c.Pending, &c.Delivered, &c.Failed, &c.Refused); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// outboxStates are the states an outbox item can be in.
var outboxStates = []string{"pending", "delivered", "failed", "refused"}

// OutboxEntries implements store.Store.
func (s *Store) OutboxEntries(ctx context.Context, tenant, status string, limit int) ([]store.OutboxEntry, error) {
	if !slices.Contains(outboxStates, status) {
		return nil, fmt.Errorf("outbox: no state %q (states: %s)", status, strings.Join(outboxStates, ", "))
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, connection, type, member_id, status, attempts, last_error, updated_at FROM outbox
		WHERE tenant = ? AND status = ? ORDER BY updated_at DESC, id DESC LIMIT ?`, tenant, status, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxEntry
	for rows.Next() {
		var e store.OutboxEntry
		var updated int64
		if err := rows.Scan(&e.ID, &e.Connection, &e.Action, &e.MemberID, &e.Status, &e.Attempts, &e.LastError, &updated); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		e.UpdatedAt = time.Unix(updated, 0).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// RequeueFailed implements store.Store.
func (s *Store) RequeueFailed(ctx context.Context, tenant, connection, action string) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET status = 'pending', updated_at = ?
		WHERE tenant = ? AND connection = ? AND status = 'failed' AND (? = '' OR type = ?)`, s.now().Unix(), tenant, connection, action, action)
	if err != nil {
		return 0, fmt.Errorf("requeue failed actions of %s: %w", connection, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeadLetters implements store.Store: the most recently failed first.
func (s *Store) DeadLetters(ctx context.Context, tenant string, limit int) ([]store.DeadLetter, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, job, connection, stream, record_id, reason, location, raw, created_at, last_seen, times FROM dead_letters
		WHERE tenant = ? ORDER BY last_seen DESC, id DESC LIMIT ?`, tenant, limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	defer rows.Close()
	var out []store.DeadLetter
	for rows.Next() {
		var d store.DeadLetter
		var first, last int64
		var sealed []byte
		if err := rows.Scan(&d.ID, &d.Job, &d.Connection, &d.Stream, &d.RecordID, &d.Reason, &d.Location, &sealed, &first, &last, &d.Times); err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		if len(sealed) > 0 {
			if d.Raw, err = s.box.Open(sealed); err != nil {
				return nil, fmt.Errorf("dead letter %d: %w", d.ID, err)
			}
		}
		d.FirstSeen, d.LastSeen = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// Stats implements store.Store.
func (s *Store) Stats(ctx context.Context, tenant string) (store.Stats, error) {
	var st store.Stats
	q := []struct {
		dst *int64
		sql string
	}{
		{&st.Members, `SELECT COUNT(*) FROM members WHERE tenant = ? AND merged_into IS NULL AND erased_at IS NULL`},
		{&st.Merges, `SELECT COUNT(*) FROM members WHERE tenant = ? AND merged_into IS NOT NULL`},
		{&st.Sources, `SELECT COUNT(*) FROM sources WHERE tenant = ? AND kind = 'member'`},
		{&st.Identities, `SELECT COUNT(DISTINCT ikey) FROM identifier_links WHERE tenant = ?`},
		{&st.Links, `SELECT COUNT(*) FROM identifier_links WHERE tenant = ?`},
		{&st.Conflicts, `SELECT COUNT(*) FROM identity_conflicts WHERE tenant = ?`},
		{&st.Shared, `SELECT COUNT(*) FROM identity_shared WHERE tenant = ?`},
		{&st.Erased, `SELECT COUNT(*) FROM members WHERE tenant = ? AND erased_at IS NOT NULL AND merged_into IS NULL`},
		{&st.Orders, `SELECT COUNT(*) FROM orders WHERE tenant = ?`},
		{&st.PointsEntries, `SELECT COUNT(*) FROM points WHERE tenant = ?`},
		{&st.OutboxPending, `SELECT COUNT(*) FROM outbox WHERE tenant = ? AND status = 'pending'`},
		{&st.OutboxDelivered, `SELECT COUNT(*) FROM outbox WHERE tenant = ? AND status = 'delivered'`},
		{&st.OutboxFailed, `SELECT COUNT(*) FROM outbox WHERE tenant = ? AND status IN ('failed', 'refused')`},
		{&st.DeadLetters, `SELECT COUNT(*) FROM dead_letters WHERE tenant = ?`},
	}
	for _, x := range q {
		if err := s.db.QueryRowContext(ctx, x.sql, tenant).Scan(x.dst); err != nil {
			return st, fmt.Errorf("stats: %w", err)
		}
	}
	return st, nil
}
