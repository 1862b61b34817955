package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mattn/go-sqlite3"
)

// insertRows binds a column shared by every row of a statement once; each
// row still gets its own values, in its own columns, whether a column is
// shared in one statement and not in the next, and for statements of one
// row, of bulkRows and of the remainder.
func TestInsertRowsStoresEveryValueWhereItBelongs(t *testing.T) {
	db := sql.OpenDB(connector{drv: &sqlite3.SQLiteDriver{}, dsn: "file:" + filepath.Join(t.TempDir(), "bulk.db")})
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (i INTEGER, tenant TEXT, s TEXT, b BLOB, f INTEGER, n TEXT)`); err != nil {
		t.Fatal(err)
	}
	const width = 6
	var args []any
	var want [][]any
	for i := range 2*bulkRows + 7 {
		s := "same"
		if i >= bulkRows && i%3 == 0 { // shared in the first statement only
			s = fmt.Sprintf("s%d", i)
		}
		var n any // NULL throughout, except in the last statement's rows
		if i >= 2*bulkRows {
			n = "last"
		}
		row := []any{int64(i), "tenant-1", s, []byte{byte(i), 0}, i%2 == 0, n}
		args = append(args, row...)
		f := int64(0)
		if i%2 == 0 {
			f = 1
		}
		want = append(want, []any{int64(i), "tenant-1", s, []byte{byte(i), 0}, f, n})
	}
	for _, rows := range [][]any{args, args[:width]} {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		a := &applier{ctx: ctx, tx: tx, stmts: map[string]*sql.Stmt{}, bulkQueries: map[bulkKey]string{}}
		if _, err := tx.ExecContext(ctx, `DELETE FROM t`); err != nil {
			t.Fatal(err)
		}
		if err := a.insertRows(`INSERT INTO t (i, tenant, s, b, f, n) VALUES `, width, rows); err != nil {
			t.Fatal(err)
		}
		got, err := tx.QueryContext(ctx, `SELECT i, tenant, s, b, f, n FROM t ORDER BY i`)
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for got.Next() {
			var i, f int64
			var tenant, s string
			var b []byte
			var n sql.NullString
			if err := got.Scan(&i, &tenant, &s, &b, &f, &n); err != nil {
				t.Fatal(err)
			}
			var nv any
			if n.Valid {
				nv = n.String
			}
			if row := []any{i, tenant, s, b, f, nv}; !reflect.DeepEqual(row, want[k]) {
				t.Fatalf("row %d = %v, want %v", k, row, want[k])
			}
			k++
		}
		if err := got.Err(); err != nil {
			t.Fatal(err)
		}
		if k != len(rows)/width {
			t.Fatalf("%d rows stored, want %d", k, len(rows)/width)
		}
		a.close()
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSharedColumns(t *testing.T) {
	for _, c := range []struct {
		rows []any
		want uint64
	}{
		{[]any{"a", int64(1), []byte("x"), nil, true}, 0b11111}, // one row: every column
		{[]any{"a", int64(1), []byte("x"), nil, true, "a", int64(2), []byte("x"), nil, true}, 0b11001},
		{[]any{"a", int64(1), nil, nil, true, "a", "1", nil, "", false}, 0b00101},
	} {
		if got := sharedColumns(c.rows, 5); got != c.want {
			t.Errorf("sharedColumns(%v) = %05b, want %05b", c.rows, got, c.want)
		}
	}
}
