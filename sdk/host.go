package sdk

import (
	"context"
	"time"

	"github.com/channelhub/channelhub/mapping"
	"github.com/rs/zerolog"
)

// Token is a cached credential.
type Token struct {
	Value     string
	ExpiresAt time.Time
}

// HostService is what the hub offers plugins: a credentials cache shared by
// every plugin process, a shared rate limiter, and config updates. The hub
// implements it once per connection, so a plugin reaches only its own
// connection's tokens and budgets.
type HostService interface {
	// GetToken returns the cached token for key. When none is cached (found is
	// false) the caller holds a short lease to fetch one and must PutToken or
	// InvalidateToken; other callers of GetToken wait for it meanwhile.
	GetToken(ctx context.Context, key string) (tok Token, found bool, err error)
	// PutToken stores a token and ends the caller's lease.
	PutToken(ctx context.Context, key string, tok Token) error
	// InvalidateToken drops the token for key if it still holds value (so a
	// token another process just refreshed is kept); an empty value only ends
	// the caller's lease.
	InvalidateToken(ctx context.Context, key, value string) error
	// Acquire blocks until n requests to api may be made under the shared
	// budget, and returns how long it waited.
	Acquire(ctx context.Context, api string, n int) (time.Duration, error)
	// UpdateConfig merges patch (a JSON object) into the connection's stored
	// config, e.g. a refresh token the platform rotated. It is persisted before
	// it returns. Every key must be a config field the connector's Spec
	// declares, and every value of that field's type (see
	// Spec.CheckConfigPatch): otherwise the whole patch is refused with a
	// ClassInvalidConfig error naming the key, and nothing is stored. The hub
	// stores the patch encrypted at rest (all of it, Secret fields or not) and
	// lays it over the connection's config on every later call: syncs,
	// webhooks and `hub connections check`.
	UpdateConfig(ctx context.Context, patch []byte) error
	// LookupMember says what the hub knows of the member of the connection's
	// tenant that holds id (a phone in clear is normalised and hashed with
	// the tenant's salt). sameRecord narrows Linked: one record of this
	// connection must carry id and each of them. A member not found is no
	// error; an identifier the hub refuses (malformed, of an unknown type)
	// is a ClassPermanent error that does not repeat the value.
	LookupMember(ctx context.Context, id mapping.Identity, sameRecord ...mapping.Identity) (MemberLookup, error)
}

// MemberLookup is the hub's answer to LookupMember. It names no member and
// no other identifier: a plugin learns whether the person is known, and
// the points and level only of a member its own connection gave the hub
// that identifier for.
type MemberLookup struct {
	// Found: a member of the tenant holds the identifier.
	Found bool
	// Shared: more than one member holds it (a phone a family shares); Found
	// is then true and Linked false.
	Shared bool
	// Linked: one record of this connection carries the identifier itself,
	// and every sameRecord identifier: the connection has given the hub
	// this identifier for this account before (a Tmall member's bind
	// carried the mobile with the member's ouid).
	Linked bool
	// PointsBalance and Level (the unified profile's) are set only when
	// Linked.
	PointsBalance int64
	Level         string
}

// Host is what a connector gets from its constructor: a logger already tagged
// with the connector, tenant and connection, the host services, and a clock.
// Every method is safe on a nil *Host: a nil Host logs nothing, caches
// nothing, never waits, and reads the wall clock.
type Host struct {
	log     zerolog.Logger
	service HostService
	now     func() time.Time
}

// NewHost builds a Host. Tests use it with a fake HostService; nil service
// and now are allowed.
func NewHost(log zerolog.Logger, service HostService, now func() time.Time) *Host {
	return &Host{log: log, service: service, now: now}
}

// Log returns the connector's logger.
func (h *Host) Log() *zerolog.Logger {
	if h == nil {
		l := zerolog.Nop()
		return &l
	}
	return &h.log
}

// Now returns the host clock's time.
func (h *Host) Now() time.Time {
	if h == nil || h.now == nil {
		return time.Now()
	}
	return h.now()
}

// Wait blocks until one request to api may be made under the shared budget.
func (h *Host) Wait(ctx context.Context, api string) error {
	if h == nil || h.service == nil {
		return ctx.Err()
	}
	_, err := h.service.Acquire(ctx, api, 1)
	return err
}

// UpdateConfig persists a config patch through the hub (see HostService):
// a JSON object whose keys are config fields of the connector's Spec, such
// as {"refresh_token": "…"} for a connector that declares refresh_token
// (Secret). Call it with what the platform rotated before using it.
func (h *Host) UpdateConfig(ctx context.Context, patch []byte) error {
	if h == nil || h.service == nil {
		return nil
	}
	return h.service.UpdateConfig(ctx, patch)
}

// LookupMember asks the hub about the member holding id (see HostService).
// Without a hub to ask, it fails with a ClassUnavailable error rather than
// answer "not found" for a member it cannot see.
func (h *Host) LookupMember(ctx context.Context, id mapping.Identity, sameRecord ...mapping.Identity) (MemberLookup, error) {
	if h == nil || h.service == nil {
		return MemberLookup{}, &Error{Class: ClassUnavailable, Message: "no hub to look the member up in"}
	}
	return h.service.LookupMember(ctx, id, sameRecord...)
}

// tokenMargin is how long before expiry a cached token counts as expired.
const tokenMargin = 5 * time.Minute

// Token returns a valid token for key from the shared cache, calling fetch
// (under the cache's lease, so only one process fetches) when there is none
// or it is about to expire.
func (h *Host) Token(ctx context.Context, key string, fetch func(ctx context.Context) (Token, error)) (string, error) {
	if h == nil || h.service == nil {
		tok, err := fetch(ctx)
		return tok.Value, err
	}
	tok, found, err := h.service.GetToken(ctx, key)
	if err != nil {
		return "", err
	}
	if found && h.Now().Add(tokenMargin).Before(tok.ExpiresAt) {
		return tok.Value, nil
	}
	tok, err = fetch(ctx)
	if err != nil {
		_ = h.service.InvalidateToken(context.WithoutCancel(ctx), key, "")
		return "", err
	}
	if err := h.service.PutToken(ctx, key, tok); err != nil {
		return "", err
	}
	return tok.Value, nil
}

// InvalidateToken drops a token the platform rejected, unless another process
// has replaced it already.
func (h *Host) InvalidateToken(ctx context.Context, key, value string) error {
	if h == nil || h.service == nil {
		return nil
	}
	return h.service.InvalidateToken(ctx, key, value)
}
