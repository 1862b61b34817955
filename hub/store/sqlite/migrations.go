package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/channelhub/channelhub/hub/identity"
)

// migrations are applied in order, each once, recorded in schema_migrations.
// Never edit a released migration: add a new one.
var migrations = []string{
	// 1: the schema of the first release (walking skeleton and One ID).
	`CREATE TABLE tenants (
		id TEXT PRIMARY KEY,
		phone_salt BLOB NOT NULL,
		next_seq INTEGER NOT NULL DEFAULT 1
	);
	CREATE TABLE members (
		tenant TEXT NOT NULL,
		member_id TEXT NOT NULL,
		seq INTEGER NOT NULL,
		merged_into TEXT,
		created_at INTEGER NOT NULL,
		erased_at INTEGER,
		PRIMARY KEY (tenant, member_id)
	) WITHOUT ROWID;
	CREATE INDEX members_merged ON members (tenant, merged_into, member_id) WHERE merged_into IS NOT NULL;
	-- sources holds every platform record the hub has applied: members with
	-- their data, orders and points entries as evidence only (their data is
	-- in orders and points; ref names the row there). keys are the record's
	-- usable identifier keys, 0x1e-separated; phones holds its clear phones,
	-- encrypted.
	-- A rowid table: rows are appended in arrival order, whatever the
	-- platform's ids; sources_record finds a record by its platform id.
	CREATE TABLE sources (
		id INTEGER PRIMARY KEY,
		tenant TEXT NOT NULL,
		connection TEXT NOT NULL,
		stream TEXT NOT NULL,
		record_id TEXT NOT NULL,
		kind TEXT NOT NULL,
		ref TEXT NOT NULL,
		member_id TEXT NOT NULL,
		updated_at INTEGER NOT NULL,
		deleted INTEGER NOT NULL,
		hash BLOB NOT NULL,
		data BLOB NOT NULL,
		keys TEXT NOT NULL,
		phones BLOB,
		first_seen INTEGER NOT NULL,
		last_seen INTEGER NOT NULL
	);
	CREATE UNIQUE INDEX sources_record ON sources (tenant, connection, stream, record_id);
	CREATE INDEX sources_member ON sources (tenant, member_id);
	-- The evidence graph: which records (sources.id) carry an identifier.
	CREATE TABLE links (
		tenant TEXT NOT NULL,
		ikey TEXT NOT NULL,
		src INTEGER NOT NULL,
		PRIMARY KEY (tenant, ikey, src)
	) WITHOUT ROWID;
	-- Identifiers the shared guard stopped from linking.
	CREATE TABLE identity_shared (
		tenant TEXT NOT NULL,
		ikey TEXT NOT NULL,
		members INTEGER NOT NULL,
		since INTEGER NOT NULL,
		PRIMARY KEY (tenant, ikey)
	) WITHOUT ROWID;
	-- Pairs an unmerge set apart: ikey never joins partner.
	CREATE TABLE identity_never (
		tenant TEXT NOT NULL,
		ikey TEXT NOT NULL,
		partner TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (tenant, ikey, partner)
	) WITHOUT ROWID;
	-- Merges refused now: the record's identifier would have joined its
	-- member to another one and broken a rule.
	CREATE TABLE identity_conflicts (
		tenant TEXT NOT NULL,
		connection TEXT NOT NULL,
		stream TEXT NOT NULL,
		record_id TEXT NOT NULL,
		ikey TEXT NOT NULL,
		member_id TEXT NOT NULL,
		other_id TEXT NOT NULL,
		rule TEXT NOT NULL,
		since INTEGER NOT NULL,
		PRIMARY KEY (tenant, connection, stream, record_id, ikey)
	) WITHOUT ROWID;
	CREATE INDEX identity_conflicts_member ON identity_conflicts (tenant, member_id);
	-- Every merge, split, refusal, guard, unmerge and erasure with its evidence.
	CREATE TABLE identity_journal (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		tenant TEXT NOT NULL,
		at INTEGER NOT NULL,
		kind TEXT NOT NULL,
		member_id TEXT NOT NULL,
		other_id TEXT NOT NULL DEFAULT '',
		ikey TEXT NOT NULL DEFAULT '',
		connection TEXT NOT NULL DEFAULT '',
		stream TEXT NOT NULL DEFAULT '',
		record_id TEXT NOT NULL DEFAULT '',
		rule TEXT NOT NULL DEFAULT '',
		detail TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX identity_journal_member ON identity_journal (tenant, member_id);
	CREATE INDEX identity_journal_other ON identity_journal (tenant, other_id) WHERE other_id != '';
	-- Erased people: salted hashes of their records and identifiers.
	CREATE TABLE tombstones (
		tenant TEXT NOT NULL,
		hash TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (tenant, hash)
	) WITHOUT ROWID;
	CREATE TABLE member_tags (
		tenant TEXT NOT NULL,
		member_id TEXT NOT NULL,
		tag TEXT NOT NULL,
		source TEXT NOT NULL,
		PRIMARY KEY (tenant, member_id, source, tag)
	) WITHOUT ROWID;
	CREATE TABLE orders (
		tenant TEXT NOT NULL,
		platform TEXT NOT NULL,
		shop TEXT NOT NULL,
		order_id TEXT NOT NULL,
		connection TEXT NOT NULL,
		member_id TEXT NOT NULL,
		status TEXT NOT NULL,
		updated_at INTEGER NOT NULL,
		data BLOB NOT NULL,
		PRIMARY KEY (tenant, platform, shop, order_id)
	) WITHOUT ROWID;
	CREATE INDEX orders_member ON orders (tenant, member_id);
	CREATE TABLE points (
		tenant TEXT NOT NULL,
		connection TEXT NOT NULL,
		entry_id TEXT NOT NULL,
		member_id TEXT NOT NULL,
		kind TEXT NOT NULL,
		delta INTEGER NOT NULL,
		occurred_at INTEGER NOT NULL,
		data BLOB NOT NULL,
		PRIMARY KEY (tenant, connection, entry_id)
	) WITHOUT ROWID;
	CREATE INDEX points_member ON points (tenant, member_id);
	CREATE TABLE stream_state (
		tenant TEXT NOT NULL,
		job TEXT NOT NULL,
		stream TEXT NOT NULL,
		checkpoint BLOB,
		records INTEGER NOT NULL DEFAULT 0,
		status TEXT NOT NULL DEFAULT '',
		last_error TEXT NOT NULL DEFAULT '',
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (tenant, job, stream)
	) WITHOUT ROWID;
	CREATE TABLE outbox (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		tenant TEXT NOT NULL,
		connection TEXT NOT NULL,
		action_key TEXT NOT NULL UNIQUE,
		type TEXT NOT NULL,
		member_id TEXT NOT NULL,
		params TEXT NOT NULL,
		-- target, when set, are the identities to act on, captured when the
		-- action was queued (an erasure outlives the member's records).
		target TEXT NOT NULL DEFAULT '',
		-- subject is what frequency limits count by: an SMS's phone hash.
		subject TEXT NOT NULL DEFAULT '',
		status TEXT NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		last_error TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	);
	CREATE INDEX outbox_pending ON outbox (tenant, connection, status, id);
	CREATE INDEX outbox_subject ON outbox (tenant, type, subject, created_at) WHERE subject != '';
	CREATE TABLE dead_letters (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		tenant TEXT NOT NULL,
		job TEXT NOT NULL,
		connection TEXT NOT NULL,
		stream TEXT NOT NULL,
		record_id TEXT NOT NULL,
		reason TEXT NOT NULL,
		location TEXT NOT NULL,
		raw BLOB,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE runs (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		tenant TEXT NOT NULL,
		job TEXT NOT NULL,
		started_at INTEGER NOT NULL,
		finished_at INTEGER,
		status TEXT NOT NULL,
		records INTEGER NOT NULL DEFAULT 0,
		error TEXT NOT NULL DEFAULT ''
	);
	CREATE TABLE connection_patches (
		tenant TEXT NOT NULL,
		connection TEXT NOT NULL,
		patch BLOB NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (tenant, connection)
	) WITHOUT ROWID;
	-- Without statistics SQLite would walk a whole tenant through a primary
	-- key that starts with tenant rather than use the member indexes. These
	-- rows tell it what a real store looks like: one tenant holds many rows,
	-- a member few. ANALYZE sqlite_schema loads them.
	ANALYZE;
	DELETE FROM sqlite_stat1;
	INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
		('members', 'members', '1000000 1000000 1'),
		('members', 'members_merged', '10000 10000 2 1'),
		('links', 'links', '2500000 2500000 1 1'),
		('identity_conflicts', 'identity_conflicts_member', '1000 1000 2'),
		('identity_journal', 'identity_journal_member', '10000 10000 3'),
		('sources', 'sources_record', '1000000 1000000 200000 200000 1'),
		('sources', 'sources_member', '1000000 1000000 2'),
		('member_tags', 'member_tags', '100000 100000 3 2 1'),
		('orders', 'orders', '1000000 1000000 300000 100000 1'),
		('orders', 'orders_member', '1000000 1000000 5'),
		('points', 'points', '1000000 1000000 300000 1'),
		('points', 'points_member', '1000000 1000000 10'),
		('outbox', 'outbox_pending', '10000 10000 2000 1000 1'),
		('stream_state', 'stream_state', '100 100 10 1');
	ANALYZE sqlite_schema;`,
	// 2: delivery receipts. platform_ref is the platform's id for a
	// delivered action (an SMS's BizId / SerialNo); receipt is what the
	// platform reported later: '' none yet, 'delivered' (reached the
	// handset) or 'undelivered', with its code, text and time.
	`ALTER TABLE outbox ADD COLUMN platform_ref TEXT NOT NULL DEFAULT '';
	ALTER TABLE outbox ADD COLUMN receipt TEXT NOT NULL DEFAULT '';
	ALTER TABLE outbox ADD COLUMN receipt_code TEXT NOT NULL DEFAULT '';
	ALTER TABLE outbox ADD COLUMN receipt_detail TEXT NOT NULL DEFAULT '';
	ALTER TABLE outbox ADD COLUMN receipt_at INTEGER;
	CREATE INDEX outbox_platform_ref ON outbox (tenant, connection, platform_ref);
	-- A platform ref names one message: say so, or the planner would rather
	-- walk a connection's pending items (see migration 1's statistics).
	INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('outbox', 'outbox_platform_ref', '10000 10000 2000 1');
	ANALYZE sqlite_schema;`,
	// 3: new identifier links land in links_new, a table small enough to
	// stay in the page cache, and are merged into links in key order once
	// it holds mergeLinksAt rows (see mergeLinks). An identifier's key is
	// random (a salted hash, an openid), so inserting it straight into the
	// large links index rewrote a page of it per link at every commit.
	// identifier_links is what the store reads: both tables, never the same
	// link in both. And an index for the latest run of each job.
	`CREATE TABLE links_new (
		tenant TEXT NOT NULL,
		ikey TEXT NOT NULL,
		src INTEGER NOT NULL,
		PRIMARY KEY (tenant, ikey, src)
	) WITHOUT ROWID;
	CREATE VIEW identifier_links AS
		SELECT tenant, ikey, src FROM links UNION ALL SELECT tenant, ikey, src FROM links_new;
	-- The latest run of each job (hub jobs status).
	CREATE INDEX runs_job ON runs (tenant, job, id);
	INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
		('links_new', 'links_new', '50000 50000 1 1'),
		('runs', 'runs_job', '100000 1000 100 1');
	ANALYZE sqlite_schema;`,
	// 4: dead letters are kept sealed, once per failing row. raw is sealed
	// with the store's key (a bad row may hold phones); hash is the salted
	// hash of the reason and the raw row, which with the connection, stream
	// and location names a failing row: failing again counts (times,
	// last_seen) instead of adding a row (see upsertDeadLetter). The rows
	// stored before are sealed, hashed and folded by sealDeadLetters, in
	// this migration's transaction; until then hash is NULL, which the
	// unique index lets through. dead_letters_record finds an erased
	// person's dead letters.
	`ALTER TABLE dead_letters ADD COLUMN hash TEXT;
	ALTER TABLE dead_letters ADD COLUMN times INTEGER NOT NULL DEFAULT 1;
	ALTER TABLE dead_letters ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;
	CREATE UNIQUE INDEX dead_letters_row ON dead_letters (tenant, connection, stream, location, hash);
	CREATE INDEX dead_letters_record ON dead_letters (tenant, connection, stream, record_id);`,
	// 5: origin is the member a record was first given. A member's founder
	// is the oldest record of that origin; when a split (an unmerge) parts
	// a member's records, each group keeps the id whose founder it holds,
	// so an id merged away earlier comes back to its own records rather
	// than a downstream system's id ending up on someone else (see
	// assign). Records stored before have none: their groups fall back to
	// the current member's id.
	`ALTER TABLE sources ADD COLUMN origin TEXT;`,
	// 6: a running run is its job's lease across hub processes sharing the
	// store: owner is the process running it (host/pid), heartbeat_at when
	// it last said it was alive (see StartRun).
	`ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
	ALTER TABLE runs ADD COLUMN heartbeat_at INTEGER;`,
	// 7: index_version changes with every transaction that adds identifier
	// links or records to the tenant, so that a process's key filter (see
	// keyFilters) knows when some it did not see were added.
	`ALTER TABLE tenants ADD COLUMN index_version INTEGER NOT NULL DEFAULT 0;`,
	// 8: records are found by platform id through record_ids, staged in
	// record_ids_new and merged in key order the way links are (see
	// MergeStaged), instead of a unique index on sources: real platform ids
	// are random, and each insert into that index, far larger than the
	// page cache, dirtied a page of it that every commit wrote again.
	// source_ids is what the store reads: both tables, never the same
	// record in both.
	`CREATE TABLE record_ids (
		tenant TEXT NOT NULL,
		connection TEXT NOT NULL,
		stream TEXT NOT NULL,
		record_id TEXT NOT NULL,
		src INTEGER NOT NULL,
		PRIMARY KEY (tenant, connection, stream, record_id)
	) WITHOUT ROWID;
	CREATE TABLE record_ids_new (
		tenant TEXT NOT NULL,
		connection TEXT NOT NULL,
		stream TEXT NOT NULL,
		record_id TEXT NOT NULL,
		src INTEGER NOT NULL,
		PRIMARY KEY (tenant, connection, stream, record_id)
	) WITHOUT ROWID;
	INSERT INTO record_ids (tenant, connection, stream, record_id, src)
		SELECT tenant, connection, stream, record_id, id FROM sources ORDER BY tenant, connection, stream, record_id;
	DROP INDEX sources_record;
	CREATE VIEW source_ids AS
		SELECT tenant, connection, stream, record_id, src FROM record_ids
		UNION ALL SELECT tenant, connection, stream, record_id, src FROM record_ids_new;
	INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('record_ids_new', 'record_ids_new', '50000 50000 50000 50000 1');
	ANALYZE sqlite_schema;`,
	// 9: a hub tag remembers the member it was set on (origin). A merge
	// moves it to the survivor; when an unmerge or a split gives that
	// member its id back, its tags go back with it. Tags stored before
	// this count as set on the member that holds them.
	`CREATE TABLE member_tags_v9 (
		tenant TEXT NOT NULL,
		member_id TEXT NOT NULL,
		tag TEXT NOT NULL,
		source TEXT NOT NULL,
		origin TEXT NOT NULL,
		PRIMARY KEY (tenant, member_id, source, tag, origin)
	) WITHOUT ROWID;
	INSERT INTO member_tags_v9 (tenant, member_id, tag, source, origin)
		SELECT tenant, member_id, tag, source, member_id FROM member_tags;
	DROP TABLE member_tags;
	ALTER TABLE member_tags_v9 RENAME TO member_tags;
	CREATE INDEX member_tags_moved ON member_tags (tenant, origin) WHERE origin != member_id;
	INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('member_tags', 'member_tags', '100000 100000 3 2 1 1'),
		('member_tags', 'member_tags_moved', '1000 1000 1');
	ANALYZE sqlite_schema;`,
	// 10: a link or merge entry's detail names a second record (the one
	// already holding the identifier); other_record names it too, so that
	// erasing that record's person erases the entry (migrateData fills it
	// for entries from before).
	`ALTER TABLE identity_journal ADD COLUMN other_record TEXT NOT NULL DEFAULT '';
	CREATE INDEX identity_journal_other_record ON identity_journal (tenant, other_record) WHERE other_record != '';`,
	// 11: the hub processes running the scheduler (hub serve), so that
	// `jobs status` can say whether scheduled jobs will run at all, and
	// when an @every schedule, which counts from the scheduler's start,
	// runs next.
	`CREATE TABLE schedulers (
		owner TEXT PRIMARY KEY,
		started_at INTEGER NOT NULL,
		heartbeat_at INTEGER NOT NULL
	) WITHOUT ROWID;`,
	// 12: a middle level between the staged tables and the large ones
	// (see MergeStaged): links_new is merged into links_mid, which is
	// merged into links when it holds ten times as many rows; record ids
	// the same. Each merge into links wrote nearly every page of it once
	// it was larger than the merge (a 1M sync wrote 6 GB for a 0.9 GB
	// store); the small merges now go into the middle table.
	// staged_rows counts the rows of the middle tables, so that whether
	// one is due is known without counting its rows every transaction.
	`CREATE TABLE links_mid (
		tenant TEXT NOT NULL,
		ikey TEXT NOT NULL,
		src INTEGER NOT NULL,
		PRIMARY KEY (tenant, ikey, src)
	) WITHOUT ROWID;
	CREATE TABLE record_ids_mid (
		tenant TEXT NOT NULL,
		connection TEXT NOT NULL,
		stream TEXT NOT NULL,
		record_id TEXT NOT NULL,
		src INTEGER NOT NULL,
		PRIMARY KEY (tenant, connection, stream, record_id)
	) WITHOUT ROWID;
	CREATE TABLE staged_rows (
		tbl TEXT PRIMARY KEY,
		n INTEGER NOT NULL
	) WITHOUT ROWID;
	INSERT INTO staged_rows (tbl, n) VALUES ('links_mid', 0), ('record_ids_mid', 0);
	DROP VIEW identifier_links;
	CREATE VIEW identifier_links AS
		SELECT tenant, ikey, src FROM links UNION ALL SELECT tenant, ikey, src FROM links_mid
		UNION ALL SELECT tenant, ikey, src FROM links_new;
	DROP VIEW source_ids;
	CREATE VIEW source_ids AS
		SELECT tenant, connection, stream, record_id, src FROM record_ids
		UNION ALL SELECT tenant, connection, stream, record_id, src FROM record_ids_mid
		UNION ALL SELECT tenant, connection, stream, record_id, src FROM record_ids_new;
	INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
		('links_mid', 'links_mid', '500000 500000 1 1'),
		('record_ids_mid', 'record_ids_mid', '500000 500000 500000 500000 1');
	ANALYZE sqlite_schema;`,
}

// migrateData runs the part of migration v that SQL cannot do, in the
// migration's transaction. rewrote says it replaced values stored in
// clear, whose old versions migrate then scrubs from the files.
func (s *Store) migrateData(ctx context.Context, tx *sql.Tx, v int) (rewrote bool, err error) {
	switch v {
	case 4:
		return true, s.sealDeadLetters(ctx, tx)
	case 10:
		return s.fillOtherRecords(ctx, tx)
	}
	return false, nil
}

// fillOtherRecords sets other_record of the link and merge entries
// journaled before migration 10 from their detail, which is
// "record C/S/ID carries TYPE, which C2/S2/ID2 also carries" (merge) or
// "..., which C2/S2/ID2 of the member carries" (link): the entry's own
// record and type are known, so the second record is what lies between.
// Connection ids and stream names hold no '/'. An entry that names a
// record erased before (its tombstone is kept) is deleted, as erasure now
// does; deleted says whether any was.
func (s *Store) fillOtherRecords(ctx context.Context, tx *sql.Tx) (deleted bool, err error) {
	type entry struct {
		id     int64
		tenant string
		named  recRef
	}
	// In pages of entries, so that memory stays bounded whatever the
	// journal's size.
	for after := int64(0); ; {
		var page []entry
		n := 0
		err := eachRow(ctx, tx, `SELECT id, tenant, ikey, connection, stream, record_id, detail FROM identity_journal
			WHERE id > ? AND kind IN ('link', 'merge') AND record_id != '' ORDER BY id LIMIT 10000`, []any{after}, func(r *sql.Rows) error {
			var tenant, ikey, conn, stream, record, detail string
			if err := r.Scan(&after, &tenant, &ikey, &conn, &stream, &record, &detail); err != nil {
				return err
			}
			n++
			if named, ok := namedRecord(ikey, recRef{conn, stream, record}, detail); ok {
				page = append(page, entry{after, tenant, named})
			}
			return nil
		})
		if err != nil {
			return deleted, fmt.Errorf("journal records: %w", err)
		}
		for _, e := range page {
			salt, err := s.salt(ctx, e.tenant)
			if err != nil {
				return deleted, fmt.Errorf("journal records: %w", err)
			}
			var erased bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM tombstones WHERE tenant = ? AND hash = ?)`, e.tenant, recordTomb(salt, e.named)).Scan(&erased); err != nil {
				return deleted, fmt.Errorf("journal records: %w", err)
			}
			if erased {
				_, err = tx.ExecContext(ctx, `DELETE FROM identity_journal WHERE id = ?`, e.id)
				deleted = true
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE identity_journal SET other_record = ? WHERE id = ?`, e.named.order(), e.id)
			}
			if err != nil {
				return deleted, fmt.Errorf("journal records: %w", err)
			}
		}
		if n == 0 {
			return deleted, nil
		}
	}
}

// namedRecord reads the second record a link or merge entry's detail
// names, if it does.
func namedRecord(ikey string, ref recRef, detail string) (recRef, bool) {
	k, err := identity.ParseKey(ikey)
	if err != nil {
		return recRef{}, false
	}
	rest, ok := strings.CutPrefix(detail, fmt.Sprintf("record %s/%s/%s carries %s, which ", ref.conn, ref.stream, ref.id, k.Type))
	if !ok {
		return recRef{}, false
	}
	named, ok := strings.CutSuffix(rest, " also carries")
	if !ok {
		if named, ok = strings.CutSuffix(rest, " of the member carries"); !ok {
			return recRef{}, false
		}
	}
	c, tail, ok1 := strings.Cut(named, "/")
	st, id, ok2 := strings.Cut(tail, "/")
	return recRef{c, st, id}, ok1 && ok2
}
