// Package breaker keeps one circuit breaker per (connection, operation).
// Only failures that are the platform's fault — sdk.ClassUnavailable and
// sdk.ClassThrottled — count; bad credentials, bad config, bad records and
// cancellation never open a breaker, so one tenant's typo or a shutdown
// cannot cut a connection off.
package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/sony/gobreaker/v2"

	"github.com/channelhub/channelhub/sdk"
)

// Settings configure breakers. Zero values are the documented defaults.
type Settings struct {
	// Failures is how many consecutive counted failures open the breaker;
	// default 5.
	Failures int
	// OpenFor is how long an open breaker rejects calls before letting one
	// through (half-open); default 1 minute.
	OpenFor time.Duration
	// OnStateChange is called on every transition (for metrics); may be nil.
	OnStateChange func(name string, from, to gobreaker.State)
}

// OpenError is returned instead of running a call while a breaker is open.
type OpenError struct {
	Name string
	// Until is when the breaker lets a trial call through.
	Until time.Time
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("circuit breaker %s is open after repeated platform failures; next attempt after %s", e.Name, e.Until.Format(time.RFC3339))
}

// Set holds the breakers of a hub.
type Set struct {
	log zerolog.Logger

	mu       sync.Mutex
	breakers map[string]*entry
}

type entry struct {
	cb       *gobreaker.CircuitBreaker[struct{}]
	openFor  time.Duration
	openedAt time.Time
}

// NewSet returns an empty set.
func NewSet(log zerolog.Logger) *Set {
	return &Set{log: log, breakers: map[string]*entry{}}
}

// Counted reports whether an error counts against a breaker.
func Counted(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	c := sdk.ClassOf(err)
	return c == sdk.ClassUnavailable || c == sdk.ClassThrottled
}

func (s *Set) get(name string, st Settings) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.breakers[name]; ok {
		return e
	}
	if st.Failures <= 0 {
		st.Failures = 5
	}
	if st.OpenFor <= 0 {
		st.OpenFor = time.Minute
	}
	e := &entry{openFor: st.OpenFor}
	e.cb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:    name,
		Timeout: st.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= uint32(st.Failures)
		},
		IsSuccessful: func(err error) bool { return !Counted(err) },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				s.mu.Lock()
				e.openedAt = time.Now()
				s.mu.Unlock()
			}
			s.log.Warn().Str("breaker", name).Str("from", from.String()).Str("to", to.String()).Msg("circuit breaker state changed")
			if st.OnStateChange != nil {
				st.OnStateChange(name, from, to)
			}
		},
	})
	s.breakers[name] = e
	return e
}

// Do runs fn under the named breaker. While the breaker is open, fn is not
// run and an *OpenError is returned.
func (s *Set) Do(name string, st Settings, fn func() error) error {
	e := s.get(name, st)
	_, err := e.cb.Execute(func() (struct{}, error) { return struct{}{}, fn() })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		s.mu.Lock()
		until := e.openedAt.Add(e.openFor)
		s.mu.Unlock()
		return &OpenError{Name: name, Until: until}
	}
	return err
}

// State returns the named breaker's state ("closed" for one never used).
func (s *Set) State(name string) string {
	s.mu.Lock()
	e, ok := s.breakers[name]
	s.mu.Unlock()
	if !ok {
		return gobreaker.StateClosed.String()
	}
	return e.cb.State().String()
}
