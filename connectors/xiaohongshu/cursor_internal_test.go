package xiaohongshu

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDecodeCursor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		wantErr string
	}{
		{``, ""},
		{`{"v":1,"phase":"backfill","next":10,"until":20}`, ""},
		{`{"v":1,"phase":"changes","next":10}`, ""},
		{`{"v":1,"phase":"backfill","next":30,"until":20}`, "past its end"},
		{`{"v":2,"phase":"changes","next":10}`, "version"},
		{`{"v":1,"phase":"sideways","next":10}`, "phase"},
		{`{"page":"abc"}`, "version"},
		{`not json`, "checkpoint"},
	} {
		c, err := decodeCursor([]byte(tc.in))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.in, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: %v, want an error about %q", tc.in, err, tc.wantErr)
		case tc.in == "" && c != nil:
			t.Errorf("empty checkpoint gave %+v", c)
		}
	}
}

// readEnd never passes now minus lag, and loses less than a second to it.
func TestReadEnd(t *testing.T) {
	t.Parallel()
	base := time.Date(2025, 6, 3, 4, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		now  time.Time
		lag  time.Duration
		want int64
	}{
		{base, time.Minute, base.Unix() - 60},
		{base.Add(999 * time.Millisecond), time.Minute, base.Unix() - 60},
		{base.Add(1500 * time.Millisecond), 500 * time.Millisecond, base.Unix() + 1},
		{base.Add(1400 * time.Millisecond), 500 * time.Millisecond, base.Unix()},
		{base, 0, base.Unix()},
		{base.In(time.FixedZone("CST", 8*3600)), time.Minute, base.Unix() - 60},
	} {
		got := readEnd(tc.now, tc.lag)
		if got != tc.want {
			t.Errorf("readEnd(%v, %v) = %d, want %d", tc.now, tc.lag, got, tc.want)
		}
		if limit := tc.now.Add(-tc.lag); time.Unix(got, 0).After(limit) || limit.Sub(time.Unix(got, 0)) >= time.Second {
			t.Errorf("readEnd(%v, %v) = %d is not the second of %v", tc.now, tc.lag, got, limit)
		}
	}
}

// The cursor remembers emitted orders at the boundary it checkpoints at,
// forgets those it has passed, and skips only unchanged repeats.
func TestCursorSeen(t *testing.T) {
	t.Parallel()
	const s = 1000 // a Unix second
	c := newCursor(s+10, 1)
	if c.Phase != phaseBackfill || c.Until != s+10 || c.Next != s+10-86400 {
		t.Fatalf("new cursor %+v", c)
	}
	// Backfill: T is the creation time.
	c.remember("a", s*1000+5, s*1000+5)            // created at s
	c.remember("b", (s+3)*1000, (s+3)*1000+1)      // created at s+3
	c.remember("c", (s+3)*1000+900, (s+10)*1000+1) // updated at Until: fresh
	c.remember("d", (s+2)*1000, (s+20)*1000)       // updated after Until: fresh
	for _, tc := range []struct {
		id      string
		updated int64
		want    bool
	}{
		{"a", s*1000 + 5, true},
		{"a", s*1000 + 6, false}, // changed since: read again
		{"x", s * 1000, false},
	} {
		if got := c.skip(tc.id, tc.updated); got != tc.want {
			t.Errorf("skip(%s, %d) = %v", tc.id, tc.updated, got)
		}
	}
	c.advance(s + 3)
	if got := keys(c.Seen); got != "b,c" {
		t.Fatalf("seen after advancing to s+3: %s, want b,c (created at s+3)", got)
	}
	c.advance(s + 1) // never back
	if c.Next != s+3 {
		t.Fatalf("advance went back to %d", c.Next)
	}
	if got := keys(c.Fresh); got != "c,d" {
		t.Fatalf("fresh %s, want c,d", got)
	}

	c.finishBackfill()
	if c.Phase != phaseChanges || c.Next != s+10 || c.Until != 0 || c.Fresh != nil {
		t.Fatalf("after the backfill %+v", c)
	}
	if got := keys(c.Seen); got != "c,d" || !c.skip("d", (s+20)*1000) {
		t.Fatalf("changes start with seen %s, want the fresh orders c,d", got)
	}
	// Changes: T is the update time; d stays until the window passes it.
	c.advance(s + 11)
	if got := keys(c.Seen); got != "d" {
		t.Fatalf("seen %s, want d", got)
	}
	c.advance(s + 21)
	if len(c.Seen) != 0 {
		t.Fatalf("seen %s after passing every mark", keys(c.Seen))
	}

	// The memory is bounded.
	for i := range maxSeen + 10 {
		c.remember(string(rune('A'+i%26))+time.Duration(i).String(), (s+30)*1000, (s+30)*1000)
	}
	if len(c.Seen) != maxSeen {
		t.Fatalf("%d seen, want at most %d", len(c.Seen), maxSeen)
	}
	b, err := c.encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeCursor(b)
	if err != nil || !maps.Equal(back.Seen, c.Seen) || back.Next != c.Next {
		t.Fatalf("round trip: %v", err)
	}
}

func keys(m map[string]mark) string {
	return strings.Join(slices.Sorted(maps.Keys(m)), ",")
}
