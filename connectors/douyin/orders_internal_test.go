package douyin

import (
	"slices"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/douyin/doudian"
)

func TestReadSpan(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 2, 0, 0, 500e6, time.UTC)
	sec := now.Unix()
	horizon := doudian.EarliestStart(now).Unix() + 1
	at := func(s int64) *cursor { return &cursor{Through: time.Unix(s, 0).UTC()} }
	tests := []struct {
		name       string
		lag        time.Duration
		cp         *cursor
		start, end int64
		clamped    bool
	}{
		{"first read covers the horizon", 0, nil, horizon, sec, false},
		{"lag is subtracted", time.Minute, nil, horizon, sec - 60, false},
		{"a partial second of lag counts whole", 1500 * time.Millisecond, nil, horizon, sec - 2, false},
		{"resume after the checkpoint's second", time.Minute, at(sec - 3600), sec - 3599, sec - 60, false},
		{"checkpoint past the horizon is clamped", 0, at(horizon - 10*86400), horizon, sec, true},
		{"checkpoint at the end: empty", time.Minute, at(sec - 60), sec - 59, sec - 60, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, clamped := readSpan(now, tt.lag, tt.cp)
			if s.start != tt.start || s.end != tt.end || clamped != tt.clamped {
				t.Fatalf("readSpan = [%d, %d] clamped %v, want [%d, %d] clamped %v", s.start, s.end, clamped, tt.start, tt.end, tt.clamped)
			}
			if s.end > sec-int64(tt.lag/time.Second) {
				t.Fatalf("end %d passes now minus lag", s.end)
			}
		})
	}
	if !(span{start: 5, end: 4}).empty() || (span{start: 5, end: 5}).empty() {
		t.Fatal("empty() is wrong")
	}
}

func orders(pairs ...any) []doudian.ShopOrder {
	var out []doudian.ShopOrder
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, doudian.ShopOrder{OrderID: pairs[i].(string), UpdateTime: int64(pairs[i+1].(int))})
	}
	return out
}

func TestKeysetTake(t *testing.T) {
	t.Parallel()
	type step struct {
		page    []doudian.ShopOrder
		emit    []string
		from    int64
		through int64
	}
	tests := []struct {
		name  string
		start int64
		steps []step
	}{
		{"pages advance to the last second seen", 100, []step{
			{orders("a", 100, "b", 101, "c", 102), []string{"a", "b", "c"}, 102, 101},
			{orders("c", 102, "d", 102, "e", 105), []string{"d", "e"}, 105, 104},
		}},
		{"a run of equal times is never split by the bookmark", 100, []step{
			{orders("a", 100, "b", 107, "c", 107), []string{"a", "b", "c"}, 107, 106},
			{orders("b", 107, "c", 107, "d", 107), []string{"d"}, 107, 106},
			{orders("d", 107, "e", 107, "f", 108), []string{"e", "f"}, 108, 107},
		}},
		{"rows before the query start are skipped", 200, []step{
			{orders("x", 150, "y", 200), []string{"y"}, 200, 199},
		}},
		{"an empty page changes nothing", 300, []step{
			{nil, nil, 300, 299},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ks := newKeyset(tt.start)
			for i, st := range tt.steps {
				var got []string
				for _, o := range ks.take(st.page) {
					got = append(got, o.OrderID)
				}
				if !slices.Equal(got, st.emit) || ks.from != st.from || ks.through != st.through {
					t.Fatalf("step %d: emitted %v from %d through %d, want %v from %d through %d", i, got, ks.from, ks.through, st.emit, st.from, st.through)
				}
			}
		})
	}
}

func TestKeysetFinish(t *testing.T) {
	t.Parallel()
	ks := newKeyset(100)
	ks.take(orders("a", 150, "b", 150))
	ks.finish(200)
	if ks.through != 200 || ks.from != 201 || len(ks.seen) != 0 {
		t.Fatalf("after finish(200): from %d through %d seen %v", ks.from, ks.through, ks.seen)
	}
	ks.finish(150) // an earlier window end moves nothing back
	if ks.through != 200 || ks.from != 201 {
		t.Fatalf("finish moved back: from %d through %d", ks.from, ks.through)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	b := cursorAt(1748743200)
	if string(b) != `{"through":"2025-06-01T02:00:00Z"}` {
		t.Fatalf("cursor %s", b)
	}
	c, err := parseCursor(b)
	if err != nil || c.Through.Unix() != 1748743200 {
		t.Fatalf("parse: %v %v", c, err)
	}
	for _, bad := range []string{"{", `{}`, `{"through":"yesterday"}`} {
		if _, err := parseCursor([]byte(bad)); err == nil {
			t.Errorf("cursor %s parsed", bad)
		}
	}
	if c, err := parseCursor(nil); c != nil || err != nil {
		t.Fatalf("nil checkpoint: %v %v", c, err)
	}
}
