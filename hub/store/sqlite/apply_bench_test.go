package sqlite_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/synthetic"
	"github.com/channelhub/channelhub/hub/secret"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/hub/store/sqlite"
	"github.com/channelhub/channelhub/sdk"
)

// BenchmarkApplyBatch applies batches of 1,000 synthetic members (about 2.5
// identifiers each) to a growing store: the store side of a full read.
const benchBatch = 5000

func BenchmarkApplyBatch(b *testing.B) {
	box, _ := secret.New(bytes.Repeat([]byte{1}, secret.KeySize))
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "hub.db"), box, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.EnsureTenant(ctx, "t", []byte("salt")); err != nil {
		b.Fatal(err)
	}
	cfg, _ := synthetic.Spec.ParseConfig(map[string]any{"records": 1 << 40})
	conn, _ := synthetic.New(ctx, cfg, nil)
	gen := conn.(*synthetic.Connector)
	b.ResetTimer()
	var n int64
	for i := 0; i < b.N; i++ {
		recs := make([]sdk.Record, benchBatch)
		for j := range recs {
			recs[j] = gen.Record(n)
			n++
		}
		if _, err := s.ApplyBatch(ctx, store.Batch{Tenant: "t", Job: "j", Connection: "syn", Stream: "members", Records: recs, Checkpoint: []byte{1}, At: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
