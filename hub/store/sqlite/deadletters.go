package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/sdk"
)

// deadLetter is one failure of a record, as dead_letters stores it.
type deadLetter struct {
	tenant, job, connection, stream string
	recordID, reason, location      string
	// raw is the record as the connector sent it, in clear.
	raw []byte
	// at is when it failed, in seconds.
	at int64
}

// upsertDeadLetter stores a dead letter: a new row, or one more failure of
// the row stored for the same connection, stream, location and hash (of
// reason and raw; migration 4).
const upsertDeadLetter = `INSERT INTO dead_letters (tenant, job, connection, stream, record_id, reason, location, raw, hash, created_at, last_seen)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (tenant, connection, stream, location, hash) DO UPDATE SET job = excluded.job, record_id = excluded.record_id,
	last_seen = MAX(dead_letters.last_seen, excluded.last_seen), times = dead_letters.times + 1`

// args are upsertDeadLetter's arguments for d: raw sealed with the store's
// key, and hashed with the tenant's salt, so that the hash says nothing of
// a phone in the row to whoever lacks the salt.
func (s *Store) deadLetterArgs(d deadLetter, salt []byte) []any {
	var sealed []byte
	if len(d.raw) > 0 {
		sealed = s.box.Seal(d.raw)
	}
	hash := saltedHash(salt, "dead letter\x1f"+d.reason+"\x1f"+string(d.raw))
	return []any{d.tenant, d.job, d.connection, d.stream, d.recordID, d.reason, d.location, sealed, hash, d.at, d.at}
}

// deadLetter stores a bad record of batch b, unless it is a record of an
// erased person (a tombstone matched): that one is dropped, as its good
// versions are.
func (a *applier) deadLetter(b store.Batch, recordID string, bad *sdk.BadRecord) error {
	if a.has.tombstones && recordID != "" {
		var erased bool
		if err := a.tx.QueryRowContext(a.ctx, `SELECT EXISTS (SELECT 1 FROM tombstones WHERE tenant = ? AND hash = ?)`,
			a.tenant, recordTomb(a.salt, recRef{b.Connection, b.Stream, recordID})).Scan(&erased); err != nil {
			return fmt.Errorf("tombstones: %w", err)
		}
		if erased {
			a.res.Erased++
			return nil
		}
	}
	a.res.DeadLettered++
	d := deadLetter{tenant: b.Tenant, job: b.Job, connection: b.Connection, stream: b.Stream, recordID: recordID,
		reason: bad.Reason, location: bad.Location, raw: bad.Raw, at: a.at / 1000}
	if err := a.exec(upsertDeadLetter, a.s.deadLetterArgs(d, a.salt)...); err != nil {
		return fmt.Errorf("dead letter: %w", err)
	}
	return nil
}

// sealDeadLetters is migration 4's data step: every dead letter stored
// before (raw in clear, no hash) is deleted and stored again through
// upsertDeadLetter, sealed and hashed, so that repeats of one row fold into
// one row counting them. Freed space and pages are zeroed meanwhile
// (secure_delete ON; the store's FAST leaves free pages as they were), so
// no clear row stays in the database file.
func (s *Store) sealDeadLetters(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return fmt.Errorf("secure delete: %w", err)
	}
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM dead_letters`).Scan(&last); err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	// The rows go again with new ids, after last; they are read oldest
	// first, in chunks, so that a repeat counts on its first row.
	for from := int64(0); from < last; {
		var rows []deadLetter
		var ids []int64
		err := eachRow(ctx, tx, `SELECT id, tenant, job, connection, stream, record_id, reason, location, raw, created_at FROM dead_letters
			WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`, []any{from, last, chunk}, func(r *sql.Rows) error {
			var id int64
			var d deadLetter
			if err := r.Scan(&id, &d.tenant, &d.job, &d.connection, &d.stream, &d.recordID, &d.reason, &d.location, &d.raw, &d.at); err != nil {
				return err
			}
			ids, rows = append(ids, id), append(rows, d)
			return nil
		})
		if err != nil {
			return fmt.Errorf("read dead letters: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		for i, d := range rows {
			salt, err := s.salt(ctx, d.tenant)
			if err != nil {
				return fmt.Errorf("dead letter %d: %w", ids[i], err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM dead_letters WHERE id = ?`, ids[i]); err != nil {
				return fmt.Errorf("dead letter %d: %w", ids[i], err)
			}
			if _, err := tx.ExecContext(ctx, upsertDeadLetter, s.deadLetterArgs(d, salt)...); err != nil {
				return fmt.Errorf("dead letter %d: %w", ids[i], err)
			}
		}
		from = ids[len(ids)-1]
	}
	if _, err := tx.ExecContext(ctx, `PRAGMA secure_delete = FAST`); err != nil {
		return fmt.Errorf("secure delete: %w", err)
	}
	return nil
}

// deleteOfRecords deletes the rows of table (dead_letters,
// identity_journal, record_ids and its staging tables) that name one of
// records by connection, stream and record id, and returns how many.
func (a *applier) deleteOfRecords(table string, records []*gnode) (int, error) {
	var n int64
	for part := range slices.Chunk(records, 300) {
		args := []any{a.tenant}
		for _, r := range part {
			args = append(args, r.ref.conn, r.ref.stream, r.ref.id)
		}
		rows := strings.TrimSuffix(strings.Repeat("(?, ?, ?),", len(part)), ",")
		res, err := a.execResult(`DELETE FROM `+table+` WHERE tenant = ? AND (connection, stream, record_id) IN (VALUES `+rows+`)`, args...)
		if err != nil {
			return 0, fmt.Errorf("erase %s: %w", table, err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("erase %s: %w", table, err)
		}
		n += k
	}
	return int(n), nil
}
