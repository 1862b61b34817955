package miniprogram

import (
	"sync"
	"time"

	"github.com/channelhub/channelhub/sdk"
)

// seenCapacity bounds the replay guard: at most this many accepted events
// are remembered, with their records; past it the oldest are forgotten
// first.
const seenCapacity = 20_000

// seenSet is the replay guard: the events accepted in the last retention,
// with the records each made, plus the ids being handled right now. A
// repeat of an accepted event gets the same records again rather than a
// refusal: the hub upserts them, which changes nothing if it stored them
// the first time, and stores them if it could not (it answered 503 and the
// backend delivered again). Nothing is exchanged with WeChat twice: a phone
// code is good for one exchange only.
//
// It lives in the connector, so it is per plugin process and per connection
// config; a restarted plugin starts empty. That is why records are also
// idempotent (see records.go): a repeat that gets past the set maps to the
// same records again.
//
// The retention is 2×max_skew plus a minute: a captured request carries its
// signed timestamp, so a replay of it is refused as stale once the timestamp
// is more than max_skew old, and the set needs to remember an event only
// until then.
type seenSet struct {
	retention time.Duration
	capacity  int

	mu       sync.Mutex
	at       map[string]seenEvent // accepted ids → when, and their records
	queue    []seenEntry          // accepted ids, oldest first, from head
	head     int
	inflight map[string]bool // ids being handled now
}

type seenEvent struct {
	at      time.Time
	records []sdk.Record
}

type seenEntry struct {
	id string
	at time.Time
}

func newSeenSet(retention time.Duration, capacity int) *seenSet {
	return &seenSet{retention: retention, capacity: capacity, at: map[string]seenEvent{}, inflight: map[string]bool{}}
}

// claimState is what claim found.
type claimState int

const (
	claimed  claimState = iota // the id is reserved for this request
	accepted                   // the event was accepted already: its records come with it
	handling                   // another request is handling the id now
)

// claim reserves id for handling, unless it was accepted within the
// retention (its records are returned) or another request is handling it.
// A claimed id must be committed or released.
func (s *seenSet) claim(id string, now time.Time) (claimState, []sdk.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if ev, ok := s.at[id]; ok {
		return accepted, ev.records
	}
	if s.inflight[id] {
		return handling, nil
	}
	s.inflight[id] = true
	return claimed, nil
}

// release gives up a claim: the event was not accepted and may come again.
func (s *seenSet) release(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, id)
}

// commit records id as accepted at now, with the records it made.
func (s *seenSet) commit(id string, now time.Time, records []sdk.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, id)
	s.at[id] = seenEvent{at: now, records: records}
	s.queue = append(s.queue, seenEntry{id: id, at: now})
	s.expire(now)
}

// expire forgets ids older than the retention, and the oldest ids beyond
// the capacity. Guarded by mu.
func (s *seenSet) expire(now time.Time) {
	for s.head < len(s.queue) {
		e := s.queue[s.head]
		if len(s.at) <= s.capacity && now.Sub(e.at) <= s.retention {
			break
		}
		if ev, ok := s.at[e.id]; ok && ev.at.Equal(e.at) {
			delete(s.at, e.id)
		}
		s.queue[s.head] = seenEntry{}
		s.head++
	}
	// Compact once the consumed head is the larger part of the slice.
	if s.head > 1024 && s.head*2 > len(s.queue) {
		s.queue = append([]seenEntry(nil), s.queue[s.head:]...)
		s.head = 0
	}
}

// len returns how many accepted ids are remembered.
func (s *seenSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.at)
}
