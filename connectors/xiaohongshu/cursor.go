package xiaohongshu

import (
	"encoding/json"
	"fmt"
	"time"
)

// Read phases.
const (
	// phaseBackfill reads orders by creation time, Next to Until.
	phaseBackfill = "backfill"
	// phaseChanges reads orders by update time from Next on.
	phaseChanges = "changes"
)

// cursorVersion is the version of the checkpoint format.
const cursorVersion = 1

// maxSeen bounds the orders a cursor remembers; past it, further orders are
// not remembered and may come once more on the next read (harmless: the hub
// upserts).
const maxSeen = 5000

// cursor is the orders checkpoint. Every window the platform lists includes
// both its end seconds, so the next read starts at Next itself, the last
// window's end, rather than after it: a run of orders stamped with the same
// second is never split between two reads. Orders of that second that were
// already emitted are remembered in Seen with their update time, and skipped
// when they come again unchanged.
type cursor struct {
	V     int    `json:"v"`
	Phase string `json:"phase"`
	// Next is the first second (Unix) still to read, inclusive: creation
	// time while backfilling, update time after.
	Next int64 `json:"next"`
	// Until is the last creation second the backfill reads, and the update
	// second the changes start from once it is done: the start of the run
	// that began the backfill, minus the lag.
	Until int64 `json:"until,omitempty"`
	// Seen are orders emitted at or after Next (in the phase's time), by id.
	Seen map[string]mark `json:"seen,omitempty"`
	// Fresh are orders the backfill emitted whose update time is at or after
	// Until: the changes phase starts with them as Seen, so an order the
	// backfill read in its latest state is not read again.
	Fresh map[string]mark `json:"fresh,omitempty"`
}

// mark is what a cursor remembers of an emitted order.
type mark struct {
	// U is the update time (epoch ms) of the version emitted.
	U int64 `json:"u"`
	// T is the order's time in the phase's terms (epoch ms): creation time
	// while backfilling, update time after. A mark is dropped once the
	// cursor's Next passes it.
	T int64 `json:"t"`
}

// newCursor starts a backfill of the days before end (a Unix second).
func newCursor(end int64, days int) *cursor {
	return &cursor{V: cursorVersion, Phase: phaseBackfill, Next: end - int64(days)*int64(24*time.Hour/time.Second), Until: end}
}

// decodeCursor reads a checkpoint; nil or empty gives nil.
func decodeCursor(b []byte) (*cursor, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("orders checkpoint: %w", err)
	}
	switch {
	case c.V != cursorVersion:
		return nil, fmt.Errorf("orders checkpoint: version %d is not %d", c.V, cursorVersion)
	case c.Phase != phaseBackfill && c.Phase != phaseChanges:
		return nil, fmt.Errorf("orders checkpoint: phase %q is not %s or %s", c.Phase, phaseBackfill, phaseChanges)
	case c.Phase == phaseBackfill && c.Until < c.Next:
		return nil, fmt.Errorf("orders checkpoint: backfill at %d is past its end %d", c.Next, c.Until)
	}
	return &c, nil
}

func (c *cursor) encode() ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("orders checkpoint: %w", err)
	}
	return b, nil
}

// skip reports whether an order listed with update time updated (ms) was
// emitted in that very version already.
func (c *cursor) skip(orderID string, updated int64) bool {
	m, ok := c.Seen[orderID]
	return ok && m.U == updated
}

// remember notes an emitted order: in Seen, and while backfilling, in Fresh
// when it was updated at or after Until.
func (c *cursor) remember(orderID string, created, updated int64) {
	t := updated
	if c.Phase == phaseBackfill {
		t = created
		if updated >= c.Until*1000 && len(c.Fresh) < maxSeen {
			if c.Fresh == nil {
				c.Fresh = map[string]mark{}
			}
			c.Fresh[orderID] = mark{U: updated, T: updated}
		}
	}
	if len(c.Seen) < maxSeen {
		if c.Seen == nil {
			c.Seen = map[string]mark{}
		}
		c.Seen[orderID] = mark{U: updated, T: t}
	}
}

// advance moves Next to next (never back) and forgets the Seen marks before
// it: a window listed from Next on cannot return them.
func (c *cursor) advance(next int64) {
	if next > c.Next {
		c.Next = next
	}
	for id, m := range c.Seen {
		if m.T < c.Next*1000 {
			delete(c.Seen, id)
		}
	}
}

// finishBackfill switches to the changes phase at Until.
func (c *cursor) finishBackfill() {
	*c = cursor{V: cursorVersion, Phase: phaseChanges, Next: c.Until, Seen: c.Fresh}
	c.advance(c.Next)
}
