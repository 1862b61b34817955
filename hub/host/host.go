// Package host implements the services the hub offers plugins (sdk.HostService):
// a credentials cache shared by every plugin process of the hub, with a lease
// so that only one process fetches a token at a time; a rate limiter shared
// by every job of a connection; and persistence of config the platform
// rotated (refresh tokens).
package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/channelhub/channelhub/hub/identity"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

// Tokens is the hub-wide credentials cache. Keys are namespaced by tenant, so
// one tenant's plugin never reads another tenant's token.
type Tokens struct {
	// Lease bounds how long a fetcher may hold a key; default 30s.
	Lease time.Duration
	// Margin: a token expiring within it counts as absent; default 5 min.
	Margin time.Duration
	Now    func() time.Time

	mu      sync.Mutex
	tokens  map[string]sdk.Token
	leases  map[string]time.Time
	changed chan struct{}
}

func (t *Tokens) init() {
	if t.tokens == nil {
		t.tokens, t.leases, t.changed = map[string]sdk.Token{}, map[string]time.Time{}, make(chan struct{})
		if t.Lease == 0 {
			t.Lease = 30 * time.Second
		}
		if t.Margin == 0 {
			t.Margin = 5 * time.Minute
		}
		if t.Now == nil {
			t.Now = time.Now
		}
	}
}

// broadcast wakes every waiter; call with t.mu held.
func (t *Tokens) broadcast() {
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *Tokens) get(ctx context.Context, key string) (sdk.Token, bool, error) {
	for {
		t.mu.Lock()
		t.init()
		now := t.Now()
		if tok, ok := t.tokens[key]; ok && now.Add(t.Margin).Before(tok.ExpiresAt) {
			t.mu.Unlock()
			return tok, true, nil
		}
		if until, held := t.leases[key]; !held || now.After(until) {
			t.leases[key] = now.Add(t.Lease)
			t.mu.Unlock()
			return sdk.Token{}, false, nil
		}
		wait := t.changed
		t.mu.Unlock()
		select {
		case <-wait:
		case <-time.After(time.Second):
		case <-ctx.Done():
			return sdk.Token{}, false, ctx.Err()
		}
	}
}

func (t *Tokens) put(key string, tok sdk.Token) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	t.tokens[key] = tok
	delete(t.leases, key)
	t.broadcast()
}

func (t *Tokens) invalidate(key, value string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	if value != "" && t.tokens[key].Value == value {
		delete(t.tokens, key)
	}
	if value == "" {
		delete(t.leases, key)
	}
	t.broadcast()
}

// Limiter paces requests per (tenant, connection, api group). Platforms count
// calls per clock second, so a group at rate r never makes more than
// floor(r) requests in any one-second window (for rates under 1, one per
// 1/r seconds), and so never more in any clock second. Within that, requests
// are spaced at least half the even spacing apart: a request that comes late
// (a slow page) is made up by the next instead of being lost, and nothing
// bursts.
type Limiter struct {
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	limit  int           // requests in any window
	window time.Duration // one second; longer for rates under 1
	gap    time.Duration // the least spacing: half the even spacing
	sent   []time.Time   // the times of the last limit requests, oldest first
	next   time.Time     // no request before this
}

func (l *Limiter) bucket(key string, rate float64) *bucket {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{limit: int(rate), window: time.Second}
		if rate < 1 {
			b.limit, b.window = 1, time.Duration(float64(time.Second)/rate)
		}
		b.gap = b.window / time.Duration(2*b.limit)
		l.buckets[key] = b
	}
	return b
}

// take reserves the times of n requests and returns how long to wait for
// the last of them.
func (l *Limiter) take(b *bucket, n int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	at := now
	for range n {
		if at.Before(b.next) {
			at = b.next
		}
		if len(b.sent) == b.limit {
			if free := b.sent[0].Add(b.window); at.Before(free) {
				at = free
			}
			copy(b.sent, b.sent[1:])
			b.sent = b.sent[:b.limit-1]
		}
		b.sent = append(b.sent, at)
		b.next = at.Add(b.gap)
	}
	return at.Sub(now)
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Limiter) sleep(ctx context.Context, d time.Duration) error {
	if l.Sleep != nil {
		return l.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ConfigSaver persists config patches (the store implements it).
type ConfigSaver interface {
	SaveConfigPatch(ctx context.Context, tenant, connection string, patch []byte) error
}

// MemberFinder finds the member holding an identifier, and says whether
// one record of a connection carries identifiers (the store implements it).
type MemberFinder interface {
	FindMember(ctx context.Context, tenant string, id mapping.Identity) (*store.MemberView, error)
	RecordCarries(ctx context.Context, tenant, connection string, ids []mapping.Identity) (bool, error)
}

// Service is the sdk.HostService of one connection.
type Service struct {
	Tenant, Connection string
	Tokens             *Tokens
	Limiter            *Limiter
	// Limits are requests/second per API group; "*" applies to every group
	// without its own entry. Missing means unlimited.
	Limits map[string]float64
	// Config stores the patches UpdateConfig accepts.
	Config ConfigSaver
	// Spec is the connector's spec: UpdateConfig accepts only its config
	// fields, with values of their types. A zero Spec declares no field, so
	// every patch is refused.
	Spec sdk.Spec
	// Members answers LookupMember within Tenant.
	Members MemberFinder
}

var _ sdk.HostService = (*Service)(nil)

func (s *Service) key(k string) string { return s.Tenant + "\x00" + k }

// GetToken implements sdk.HostService.
func (s *Service) GetToken(ctx context.Context, key string) (sdk.Token, bool, error) {
	return s.Tokens.get(ctx, s.key(key))
}

// PutToken implements sdk.HostService.
func (s *Service) PutToken(_ context.Context, key string, tok sdk.Token) error {
	s.Tokens.put(s.key(key), tok)
	return nil
}

// InvalidateToken implements sdk.HostService.
func (s *Service) InvalidateToken(_ context.Context, key, value string) error {
	s.Tokens.invalidate(s.key(key), value)
	return nil
}

// Acquire implements sdk.HostService.
func (s *Service) Acquire(ctx context.Context, api string, n int) (time.Duration, error) {
	rate, ok := s.Limits[api]
	group := api
	if !ok {
		rate, group = s.Limits["*"], "*"
	}
	if rate <= 0 {
		return 0, nil
	}
	b := s.Limiter.bucket(s.Tenant+"\x00"+s.Connection+"\x00"+group, rate)
	wait := s.Limiter.take(b, n)
	if wait > 0 {
		if err := s.Limiter.sleep(ctx, wait); err != nil {
			return 0, err
		}
	}
	return wait, nil
}

// UpdateConfig implements sdk.HostService. A patch with a key that is not
// a config field of the connector's spec, or a value of the wrong type, is
// refused whole with a ClassInvalidConfig error naming the key, and nothing
// is stored: a stored patch is laid over the connection's config on every
// later call, so a bad one would fail them all.
func (s *Service) UpdateConfig(ctx context.Context, patch []byte) error {
	if err := s.Spec.CheckConfigPatch(patch); err != nil {
		return fmt.Errorf("connection %s/%s: config patch refused: %w", s.Tenant, s.Connection, err)
	}
	if s.Config == nil {
		return fmt.Errorf("connection %s/%s: no config store", s.Tenant, s.Connection)
	}
	return s.Config.SaveConfigPatch(ctx, s.Tenant, s.Connection, patch)
}

// LookupMember implements sdk.HostService: what the tenant's store knows of
// the member holding id. The answer names no member and no other
// identifier, and carries the points balance and level only when a record
// of this connection carries id itself (and sameRecord), so a plugin sees
// no more than what its own connection gave the hub. Errors never repeat
// the identifier's value (it may be a phone).
func (s *Service) LookupMember(ctx context.Context, id mapping.Identity, sameRecord ...mapping.Identity) (sdk.MemberLookup, error) {
	if s.Members == nil {
		return sdk.MemberLookup{}, sdk.UnavailableError(nil, "connection %s/%s: no member store to look up in", s.Tenant, s.Connection)
	}
	all := append([]mapping.Identity{id}, sameRecord...)
	for _, x := range all {
		if err := x.Validate(); err != nil {
			return sdk.MemberLookup{}, sdk.PermanentError("", "look up member: %v", err)
		}
		if x.Type == mapping.IDPhone {
			if _, err := mapping.NormalizePhone(x.Value); err != nil {
				return sdk.MemberLookup{}, sdk.PermanentError("", "look up member: %v", err)
			}
		}
	}
	v, err := s.Members.FindMember(ctx, s.Tenant, id)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, identity.ErrBlocked):
		// A blocked identifier (a placeholder number) links nobody.
		return sdk.MemberLookup{}, nil
	case errors.Is(err, store.ErrAmbiguous):
		return sdk.MemberLookup{Found: true, Shared: true}, nil
	case err != nil:
		return sdk.MemberLookup{}, sdk.UnavailableError(err, "connection %s/%s: look up a member by %s", s.Tenant, s.Connection, id.Type)
	}
	linked, err := s.Members.RecordCarries(ctx, s.Tenant, s.Connection, all)
	switch {
	case errors.Is(err, identity.ErrBlocked):
		// A blocked sameRecord identifier is carried by no record.
		return sdk.MemberLookup{Found: true}, nil
	case err != nil:
		return sdk.MemberLookup{}, sdk.UnavailableError(err, "connection %s/%s: look up a member by %s", s.Tenant, s.Connection, id.Type)
	case !linked:
		return sdk.MemberLookup{Found: true}, nil
	}
	return sdk.MemberLookup{Found: true, Linked: true, PointsBalance: v.Points, Level: v.Profile.Level}, nil
}
