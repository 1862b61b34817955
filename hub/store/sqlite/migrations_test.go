package sqlite_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/hub/secret"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/hub/store/sqlite"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// A store from before migration 4 holds its dead letters in clear, a row
// again for every read that failed it. Opening it seals them, folds the
// repeats, and leaves no clear row in the files.
func TestMigration4SealsAndFoldsStoredDeadLetters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hub.db")
	box, err := secret.New(bytes.Repeat([]byte{1}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	// The store as migration 3 left it, written through the driver.
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`)
	for v, m := range sqlite.Migrations()[:3] {
		exec(m)
		exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, v+1)
	}
	exec(`INSERT INTO tenants (id, phone_salt) VALUES ('t1', ?)`, box.Seal([]byte("salt")))
	row := "S005,13912340005,钱七,1990-13-45"
	// A long row too, twice: it is kept in overflow pages, which folding
	// its repeat frees.
	long := "S006,13912340006," + strings.Repeat("备注", 20000)
	for i, dl := range []struct{ loc, raw string }{{"members.csv:6", row}, {"members.csv:6", row}, {"members.csv:7", long}, {"members.csv:6", row}, {"members.csv:7", long}} {
		exec(`INSERT INTO dead_letters (tenant, job, connection, stream, record_id, reason, location, raw, created_at) VALUES ('t1', 'pos', 'pos', 'members', '', 'bad row', ?, ?, ?)`,
			dl.loc, []byte(dl.raw), 1700000000+i*60)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Contains(b, []byte("13912340005")) || !bytes.Contains(b, []byte("13912340006")) {
		t.Fatal("the old store holds no clear rows: the test migrates nothing")
	}

	s, err := sqlite.Open(ctx, path, box, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	assertNotInFiles(t, path, "13912340005", "13912340006", "钱七", "备注")
	dls, err := s.DeadLetters(ctx, "t1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dls) != 2 {
		t.Fatalf("%d dead letters after the migration, want 2 (one per row): %+v", len(dls), dls)
	}
	if d := dls[1]; d.Location != "members.csv:6" || string(d.Raw) != row || d.Times != 3 ||
		!d.FirstSeen.Equal(time.Unix(1700000000, 0)) || !d.LastSeen.Equal(time.Unix(1700000180, 0)) {
		t.Errorf("folded dead letter = %+v (raw %q)", d, d.Raw)
	}
	if d := dls[0]; d.Location != "members.csv:7" || string(d.Raw) != long || d.Times != 2 || !d.LastSeen.Equal(time.Unix(1700000240, 0)) {
		t.Errorf("long dead letter = %s x%d, last %s (%d bytes raw)", d.Location, d.Times, d.LastSeen, len(d.Raw))
	}
	// A migrated row counts later failures of the same row.
	bad := sdk.Record{Bad: &sdk.BadRecord{Reason: "bad row", Location: "members.csv:6", Raw: []byte(row)}}
	if _, err := s.ApplyBatch(ctx, store.Batch{Tenant: "t1", Job: "pos", Connection: "pos", Stream: "members", Records: []sdk.Record{bad}, At: time.Unix(1700000300, 0)}); err != nil {
		t.Fatal(err)
	}
	if dls, err := s.DeadLetters(ctx, "t1", 10); err != nil || len(dls) != 2 || dls[0].Location != "members.csv:6" || dls[0].Times != 4 {
		t.Fatalf("after the row failed again: %+v, %v", dls, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	assertNotInFiles(t, path, "13912340005", "13912340006", "钱七", "备注")
}

// A store from before migration 8 finds records by a unique index on
// sources. Opening it moves their platform ids to record_ids: a stored
// record is found and updated, not stored again, and an erased one's ids
// go with it.
func TestMigration8FindsStoredRecords(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	apply(t, s, "crm", nil, member("r1", openid("wx", "o1")), member("r2", openid("wx", "o2")))
	// Back to the store as migration 7 left it.
	undoMigration9(t, s)
	execAll(t, s, `DROP VIEW source_ids`, `DROP TABLE record_ids`, `DROP TABLE record_ids_new`,
		`CREATE UNIQUE INDEX sources_record ON sources (tenant, connection, stream, record_id)`,
		`DELETE FROM sqlite_stat1 WHERE tbl = 'record_ids_new'`, `DELETE FROM schema_migrations WHERE version = 8`)
	m := migrateAgain(t, s, path)
	count := func(q string) int {
		t.Helper()
		var n int
		if err := m.DB().QueryRowContext(t.Context(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT COUNT(*) FROM record_ids`); n != 2 {
		t.Fatalf("%d platform ids after migration 8, want 2", n)
	}
	if res := apply(t, m, "crm", nil, member("r1", openid("wx", "o1"), union("u1"))); res.Written != 1 || res.NewMembers != 0 {
		t.Fatalf("r1 again = %+v, want it written over the stored one", res)
	}
	if n := count(`SELECT COUNT(*) FROM sources`); n != 2 {
		t.Fatalf("%d records stored, want 2", n)
	}
	if _, err := m.Erase(t.Context(), "t1", memberOf(t, m, openid("wx", "o1")), "", func(string) []string { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT COUNT(*) FROM source_ids`); n != 1 {
		t.Fatalf("%d platform ids after erasing r1's member, want 1", n)
	}
	if res := apply(t, m, "crm", nil, member("r1", openid("wx", "o1"), union("u1"))); res.Erased != 1 || count(`SELECT COUNT(*) FROM sources`) != 1 {
		t.Fatalf("erased r1 again = %+v, want it dropped", res)
	}
}

// Migration 9: hub tags stored before it count as set on the member that
// holds them, and stay where they are.
func TestMigration9KeepsStoredTags(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	apply(t, s, "crm", nil, member("r1", openid("wx", "o1")), member("r2", openid("wx", "o2")))
	a, b := memberOf(t, s, openid("wx", "o1")), memberOf(t, s, openid("wx", "o2"))
	tag(t, s, a, "VIP", "Gold")
	tag(t, s, b, "VIP")
	undoMigration9(t, s)
	m := migrateAgain(t, s, path)
	var moved int
	if err := m.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM member_tags WHERE origin != member_id`).Scan(&moved); err != nil || moved != 0 {
		t.Fatalf("%d tags with another origin after migration 9 (%v), want 0", moved, err)
	}
	if got := tagsOf(t, m, a); !slices.Equal(got, []string{"Gold", "VIP"}) {
		t.Errorf("%s's tags = %q", a, got)
	}
	if got := tagsOf(t, m, b); !slices.Equal(got, []string{"VIP"}) {
		t.Errorf("%s's tags = %q", b, got)
	}
}

// undoMigration9 takes the store's member_tags back to its shape before
// migration 9, keeping the tags.
func undoMigration9(t *testing.T, s *sqlite.Store) {
	t.Helper()
	undoMigration10(t, s)
	execAll(t, s,
		`CREATE TABLE member_tags_v8 (tenant TEXT NOT NULL, member_id TEXT NOT NULL, tag TEXT NOT NULL, source TEXT NOT NULL,
			PRIMARY KEY (tenant, member_id, source, tag)) WITHOUT ROWID`,
		`INSERT OR IGNORE INTO member_tags_v8 SELECT tenant, member_id, tag, source FROM member_tags`,
		`DROP TABLE member_tags`, `ALTER TABLE member_tags_v8 RENAME TO member_tags`,
		`DELETE FROM schema_migrations WHERE version = 9`)
}

// Migration 10: link entries journaled before it name their second record
// in their detail only; it reads that record from the detail, so that
// erasing its person erases the entry.
func TestMigration10NamesTheRecordsOfOldEntries(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	holderJoinedAndLeft(t, s)
	// More link entries than the migration reads in one page (10,000).
	var first, second []sdk.Record
	for i := range 10_001 {
		first = append(first, member(fmt.Sprintf("f%d", i), card(fmt.Sprintf("pc%d", i))))
		second = append(second, member(fmt.Sprintf("s%d", i), card(fmt.Sprintf("pc%d", i)), openid("wx", fmt.Sprintf("po%d", i))))
	}
	apply(t, s, "pos", nil, first...)
	apply(t, s, "wechat", nil, second...)
	undoMigration10(t, s)
	m := migrateAgain(t, s, path)
	var named string
	if err := m.DB().QueryRowContext(t.Context(), `SELECT other_record FROM identity_journal WHERE record_id = 'A1'`).Scan(&named); err != nil {
		t.Fatal(err)
	}
	if want := "wechat\x1fmembers\x1foH-7731"; named != want {
		t.Fatalf("A1's entry names %q after migration 10, want %q", named, want)
	}
	var unfilled int
	if err := m.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM identity_journal WHERE kind IN ('link', 'merge') AND other_record = ''`).Scan(&unfilled); err != nil || unfilled != 0 {
		t.Fatalf("%d link entries left without their second record (%v)", unfilled, err)
	}
	if _, err := m.Erase(t.Context(), "t1", memberOf(t, m, phone("139 0000 7731")), "", func(string) []string { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if n := journalNaming(t, m, "oH-7731"); n != 0 {
		t.Fatalf("%d journal entries still name the erased record", n)
	}
}

// A person erased before migration 10 left other members' link entries
// naming their record (erasure did not know those yet); migration 10
// deletes them, as erasure now does, and leaves no copy in the files.
func TestMigration10ErasesEntriesNamingRecordsErasedBefore(t *testing.T) {
	t.Parallel()
	s, path := open(t)
	holderJoinedAndLeft(t, s)
	// Erased the way the hub did before: the entries name no other record.
	execAll(t, s, `UPDATE identity_journal SET other_record = ''`)
	if _, err := s.Erase(t.Context(), "t1", memberOf(t, s, phone("139 0000 7731")), "", func(string) []string { return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if journalNaming(t, s, "oH-7731") == 0 {
		t.Fatal("setup: no entry names the erased record")
	}
	// And one that names a record still stored.
	apply(t, s, "crm", nil, member("B1", card("c1"), mapping.Identity{Type: mapping.IDEmail, Value: "b1@x.cn"}))
	undoMigration10(t, s)
	m := migrateAgain(t, s, path)
	if n := journalNaming(t, m, "oH-7731"); n != 0 {
		t.Fatalf("%d journal entries name a record erased before migration 10", n)
	}
	var kept int
	if err := m.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM identity_journal WHERE record_id = 'B1' AND other_record != ''`).Scan(&kept); err != nil || kept != 1 {
		t.Fatalf("%d filled entries of B1 (%v), want its link entry kept and filled", kept, err)
	}
	assertNotInFiles(t, path, "oH-7731")
}

// undoMigration10 takes the journal back to its shape before migration 10.
func undoMigration10(t *testing.T, s *sqlite.Store) {
	t.Helper()
	undoMigration11(t, s)
	execAll(t, s, `DROP INDEX identity_journal_other_record`, `ALTER TABLE identity_journal DROP COLUMN other_record`,
		`DELETE FROM schema_migrations WHERE version = 10`)
}

// undoMigration11 drops the schedulers table.
func undoMigration11(t *testing.T, s *sqlite.Store) {
	t.Helper()
	undoMigration12(t, s)
	execAll(t, s, `DROP TABLE schedulers`, `DELETE FROM schema_migrations WHERE version = 11`)
}

// undoMigration12 moves the middle tables' rows into links and record_ids
// and drops them.
func undoMigration12(t *testing.T, s *sqlite.Store) {
	t.Helper()
	execAll(t, s, `INSERT INTO links SELECT * FROM links_mid`, `INSERT INTO record_ids SELECT * FROM record_ids_mid`,
		`DROP VIEW identifier_links`, `DROP VIEW source_ids`, `DROP TABLE links_mid`, `DROP TABLE record_ids_mid`, `DROP TABLE staged_rows`,
		`CREATE VIEW identifier_links AS SELECT tenant, ikey, src FROM links UNION ALL SELECT tenant, ikey, src FROM links_new`,
		`CREATE VIEW source_ids AS SELECT tenant, connection, stream, record_id, src FROM record_ids
			UNION ALL SELECT tenant, connection, stream, record_id, src FROM record_ids_new`,
		`DELETE FROM sqlite_stat1 WHERE tbl IN ('links_mid', 'record_ids_mid')`, `DELETE FROM schema_migrations WHERE version = 12`)
}

// A store from before migration 12 holds its links and record ids in the
// large tables and the staged ones. Opening it adds the middle tables:
// every record and link is found where it was, and the next merges go
// through the middle tables into the large ones.
func TestMigration12KeepsLinksAndRecordsWhereTheyAre(t *testing.T) {
	t.Parallel()
	s, path := openWith(t, sqlite.Options{MergeLinksAt: 2})
	pop := generate(12, 60)
	feed(t, s, pop.records, 1)
	want := canonical(partition(t, s))
	undoMigration12(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, path, sqlite.Options{MergeLinksAt: 2})
	count := func(q string) int {
		t.Helper()
		var n int
		if err := s.DB().QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT COUNT(*) FROM links_mid`) + count(`SELECT COUNT(*) FROM record_ids_mid`); n != 0 {
		t.Fatalf("%d rows in the new middle tables", n)
	}
	if got := canonical(partition(t, s)); got != want {
		t.Fatal("another partition after migration 12")
	}
	sources := count(`SELECT COUNT(*) FROM sources`)
	feed(t, s, pop.records, 2) // nothing new: every record is found again
	if n := count(`SELECT COUNT(*) FROM sources`); n != sources {
		t.Fatalf("%d records after a second sync of the same, want %d", n, sources)
	}
	links := count(`SELECT COUNT(*) FROM links`)
	more := generate(13, 60)
	for i := range more.records {
		more.records[i].rec.ID = "more-" + more.records[i].rec.ID
	}
	feed(t, s, more.records, 1)
	// Merged at 2 into the middle tables, and from them at 20 into links.
	if n := count(`SELECT COUNT(*) FROM links`); n <= links {
		t.Fatalf("links %d after another sync, %d before: nothing merged through links_mid", n, links)
	}
	if n, ids := count(`SELECT COUNT(*) FROM sources`), count(`SELECT COUNT(*) FROM source_ids`); ids != n {
		t.Fatalf("%d records, %d platform ids", n, ids)
	}
}

// migrateAgain closes s, whose store at path an undo took back to an
// older schema, and opens it again: the migrations since run.
func migrateAgain(t *testing.T, s *sqlite.Store, path string) *sqlite.Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return reopen(t, path, sqlite.Options{})
}

// execAll runs statements on s's database in order.
func execAll(t *testing.T, s *sqlite.Store, statements ...string) {
	t.Helper()
	for _, q := range statements {
		if _, err := s.DB().ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// A hub process that opened the store before a newer hub migrated it
// stops writing rather than write the old way.
func TestOlderProcessStopsAfterANewerMigrates(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	apply(t, s, "crm", nil, member("r1", openid("wx", "o1")))
	if _, err := s.DB().ExecContext(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, len(sqlite.Migrations())+1); err != nil {
		t.Fatal(err)
	}
	_, err := s.ApplyBatch(t.Context(), store.Batch{Tenant: "t1", Job: "j-crm", Connection: "crm", Stream: "members",
		Records: []sdk.Record{member("r2", openid("wx", "o2"))}, At: time.Unix(1700000100, 0)})
	if err == nil || !strings.Contains(err.Error(), "newer hub upgraded the store") {
		t.Fatalf("batch after a newer migration: %v; want it refused, naming the upgrade", err)
	}
	var n int
	if err := s.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM sources`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d records stored (%v), want only the first", n, err)
	}
}
