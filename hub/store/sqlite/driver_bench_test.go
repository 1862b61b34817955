package sqlite_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite" // the pure-Go driver "sqlite", measured against mattn's "sqlite3"
)

// BenchmarkDriverInsert compares the two SQLite drivers on what the sync path
// does most: rows of ~300 bytes inserted in 1,000-row transactions. The store
// uses the faster one (mattn/go-sqlite3). `make bench` runs it.
func BenchmarkDriverInsert(b *testing.B) {
	for _, d := range []struct{ name, driver, dsn string }{
		{"mattn", "sqlite3", "file:%s?_journal_mode=WAL&_synchronous=NORMAL"},
		{"modernc", "sqlite", "file:%s?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"},
	} {
		b.Run(d.name, func(b *testing.B) {
			db, err := sql.Open(d.driver, fmt.Sprintf(d.dsn, filepath.Join(b.TempDir(), "bench.db")))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE rows (tenant TEXT, connection TEXT, record_id TEXT, data BLOB, PRIMARY KEY (tenant, connection, record_id))`); err != nil {
				b.Fatal(err)
			}
			row := bytes.Repeat([]byte("x"), 300)
			const perTx = 1000
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i++ {
				tx, err := db.Begin()
				if err != nil {
					b.Fatal(err)
				}
				stmt, err := tx.Prepare(`INSERT INTO rows VALUES (?, ?, ?, ?)`)
				if err != nil {
					b.Fatal(err)
				}
				for j := 0; j < perTx; j++ {
					if _, err := stmt.Exec("t", "c", fmt.Sprint(n), row); err != nil {
						b.Fatal(err)
					}
					n++
				}
				stmt.Close()
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
