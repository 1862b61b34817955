package sqlite_test

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/hub/secret"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/hub/store/sqlite"
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
