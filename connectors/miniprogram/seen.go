package miniprogram

import (
	"sync"
	"time"
)

// seenCapacity bounds the replay guard: at most this many event ids are
// remembered; past it the oldest are forgotten first.
const seenCapacity = 100_000

// seenSet is the replay guard: the ids of events accepted in the last
// retention, plus those being handled right now. It lives in the connector,
// so it is per plugin process and per connection config; a restarted plugin
// starts empty. That is why records are also idempotent (see records.go):
// a replay that gets past the set upserts the records it made the first
// time.
//
// The retention is 2×max_skew plus a minute: a captured request carries its
// signed timestamp, so a replay of it is refused as stale once the timestamp
// is more than max_skew old, and the set needs to remember an id only until
// then. A redelivery that the brand's backend signs again later is not an
// attack (only the secret's holder can sign); past the retention it is
// accepted and re-applied, which changes nothing.
type seenSet struct {
	retention time.Duration
	capacity  int

	mu       sync.Mutex
	at       map[string]time.Time // accepted ids → when
	queue    []seenEntry          // accepted ids, oldest first, from head
	head     int
	inflight map[string]bool // ids being handled now
}

type seenEntry struct {
	id string
	at time.Time
}

func newSeenSet(retention time.Duration, capacity int) *seenSet {
	return &seenSet{retention: retention, capacity: capacity, at: map[string]time.Time{}, inflight: map[string]bool{}}
}

// claim reserves id for handling. It returns false when id was accepted
// within the retention or is being handled by another request. A claimed id
// must be committed or released.
func (s *seenSet) claim(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if _, ok := s.at[id]; ok || s.inflight[id] {
		return false
	}
	s.inflight[id] = true
	return true
}

// release gives up a claim: the event was not accepted and may come again.
func (s *seenSet) release(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, id)
}

// commit records id as accepted at now.
func (s *seenSet) commit(id string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, id)
	s.at[id] = now
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
		if at, ok := s.at[e.id]; ok && at.Equal(e.at) {
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
