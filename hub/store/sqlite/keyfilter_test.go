package sqlite_test

import (
	"testing"
	"time"

	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/hub/store/sqlite"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// A store's key filter answers "unheld" without the index only while no
// one else added links: a record another process linked is found, and
// the records join.
func TestKeyFilterSeesLinksOthersAdded(t *testing.T) {
	t.Parallel()
	a, path := open(t)
	b := reopen(t, path, sqlite.Options{})
	apply(t, a, "oa", nil, member("r1", openid("wx1", "o1"), union("u1")))
	if !a.KeyFilterReady("t1") {
		t.Fatal("no key filter after a first sync into an empty tenant")
	}
	// Another process stores a record with a phone a's filter never saw.
	mini := mapping.Identity{Type: mapping.IDMiniprogramOpenID, Scope: "wxmini", Value: "m2"}
	apply(t, b, "mini", nil, member("r2", phone("13912345678"), mini))
	// a's next record carries that phone and a's own openid: it must find
	// r2 through the phone, not take the phone for unheld.
	apply(t, a, "crm", nil, member("r3", openid("wx1", "o1"), phone("+86 139 1234 5678")))
	m1, m2, m3 := memberOf(t, a, openid("wx1", "o1")), memberOf(t, a, mini), memberOf(t, a, phone("13912345678"))
	if m1 != m2 || m2 != m3 {
		t.Fatalf("members %s, %s, %s; want one: r3 links r1 (openid) and r2 (phone)", m1, m2, m3)
	}
	// The stale filter went; a run large enough builds one again from the
	// index.
	if a.KeyFilterReady("t1") {
		t.Fatal("a kept a filter that misses links another store added")
	}
}

// The same holds for records: a record another process stored is found
// and updated, not taken for new.
func TestKeyFilterSeesRecordsOthersAdded(t *testing.T) {
	t.Parallel()
	a, path := open(t)
	b := reopen(t, path, sqlite.Options{})
	apply(t, a, "oa", nil, member("r1", openid("wx1", "o1")))
	apply(t, b, "oa", nil, member("r2", openid("wx1", "o2")))
	res := apply(t, a, "oa", nil, member("r2", openid("wx1", "o2"), union("u2")))
	if res.Written != 1 || res.NewMembers != 0 {
		t.Fatalf("second version of r2 = %+v; want it written over the one b stored", res)
	}
	if memberOf(t, a, union("u2")) != memberOf(t, a, openid("wx1", "o2")) {
		t.Fatal("r2's new identifier is not on its member")
	}
}

// A store opened on a tenant that has links builds its filter from the
// index once a run has looked up enough keys: the filter then holds the
// stored keys, and records still join through them.
func TestKeyFilterBuiltFromTheIndex(t *testing.T) {
	t.Parallel()
	first, path := open(t)
	apply(t, first, "oa", nil, member("r1", openid("wx1", "o1"), phone("13912345678")), member("r2", openid("wx1", "o2")))
	s := reopen(t, path, sqlite.Options{KeyFilterAfter: 1})
	apply(t, s, "mini", nil, member("m1", union("u9")))
	if !s.KeyFilterReady("t1") {
		t.Fatal("no key filter built after a run looked up more keys than KeyFilterAfter and half the records")
	}
	apply(t, s, "crm", nil, member("c1", phone("13912345678"), union("u1")), member("c2", openid("wx1", "o2"), union("u2")))
	if memberOf(t, s, union("u1")) != memberOf(t, s, openid("wx1", "o1")) || memberOf(t, s, union("u2")) != memberOf(t, s, openid("wx1", "o2")) {
		t.Fatal("records carrying stored keys did not join their members after the filter was built")
	}
	// The filter holds the stored records too: r2 again is an update.
	if res := apply(t, s, "oa", nil, member("r2", openid("wx1", "o2"), union("u2"))); res.Written != 1 || res.NewMembers != 0 {
		t.Fatalf("r2 again after the filter was built = %+v, want it written over the stored one", res)
	}
	off := reopen(t, path, sqlite.Options{KeyFilterAfter: -1})
	apply(t, off, "mini", nil, member("m2", union("u8")))
	if off.KeyFilterReady("t1") {
		t.Fatal("a key filter with KeyFilterAfter -1")
	}
}

// failAfterIndexed makes a batch of s roll back after it inserted its
// record and links (and so moved index_version in its transaction), as a
// cancelled run, a failed commit or a full disk would.
func failAfterIndexed(t *testing.T, s *sqlite.Store) {
	t.Helper()
	if _, err := s.DB().ExecContext(t.Context(), `CREATE TRIGGER IF NOT EXISTS inject BEFORE INSERT ON stream_state WHEN NEW.job = 'j-fail'
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	_, err := s.ApplyBatch(t.Context(), store.Batch{Tenant: "t1", Job: "j-fail", Connection: "fail", Stream: "members",
		Records: []sdk.Record{member("f1", openid("wx1", "f1"))}, At: time.Unix(1700000100, 0)})
	if err == nil {
		t.Fatal("the injected failure did not fail the batch")
	}
}

// A batch that rolls back leaves the store's filter at the version it
// would have stored; the next version another store commits must not be
// that one, or the filter, which lacks that store's keys, would be taken
// for whole (with version+1 it was: r3 missed r2's phone, and r2 was
// stored twice).
func TestKeyFilterAfterARolledBackBatch(t *testing.T) {
	t.Parallel()
	t.Run("links", func(t *testing.T) {
		a, path := open(t)
		b := reopen(t, path, sqlite.Options{})
		apply(t, a, "oa", nil, member("r1", openid("wx1", "o1")))
		failAfterIndexed(t, a)
		mini := mapping.Identity{Type: mapping.IDMiniprogramOpenID, Scope: "wxmini", Value: "m2"}
		apply(t, b, "mini", nil, member("r2", phone("13912345678"), mini))
		apply(t, a, "crm", nil, member("r3", openid("wx1", "o1"), phone("13912345678")))
		if m1, m2 := memberOf(t, a, openid("wx1", "o1")), memberOf(t, a, mini); m1 != m2 {
			t.Fatalf("r3 carries r1's openid and r2's phone, yet r1 is on %s and r2 on %s", m1, m2)
		}
	})
	t.Run("records", func(t *testing.T) {
		a, path := open(t)
		b := reopen(t, path, sqlite.Options{MergeLinksAt: 1}) // b's record id goes straight to record_ids
		apply(t, a, "oa", nil, member("r1", openid("wx1", "o1")))
		failAfterIndexed(t, a)
		apply(t, b, "mini", nil, member("r2", openid("wx1", "o2")))
		apply(t, a, "mini", nil, member("r2", openid("wx1", "o2"), union("u2")))
		var n int
		if err := a.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM sources WHERE tenant = 't1' AND connection = 'mini' AND record_id = 'r2'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("record mini/members/r2 stored %d times", n)
		}
	})
}
