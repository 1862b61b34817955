package host_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/hub/host"
	"github.com/channelhub/channelhub/hub/identity"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk"
)

func TestTokenLeaseLetsOneProcessFetch(t *testing.T) {
	t.Parallel()
	tokens := &host.Tokens{}
	var fetches atomic.Int32
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := &host.Service{Tenant: "t1", Connection: "c", Tokens: tokens}
			h := sdk.NewHost(zerolog.Nop(), svc, nil)
			v, err := h.Token(t.Context(), "wx1", func(context.Context) (sdk.Token, error) {
				fetches.Add(1)
				time.Sleep(20 * time.Millisecond)
				return sdk.Token{Value: "tok", ExpiresAt: time.Now().Add(2 * time.Hour)}, nil
			})
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Fatalf("token fetched %d times, want 1", n)
	}
	for _, v := range got {
		if v != "tok" {
			t.Fatalf("got %q", v)
		}
	}
	// Another tenant never sees it.
	other := &host.Service{Tenant: "t2", Connection: "c", Tokens: tokens}
	if _, found, _ := other.GetToken(t.Context(), "wx1"); found {
		t.Fatal("token leaked across tenants")
	}
}

func TestInvalidateKeepsAReplacedToken(t *testing.T) {
	t.Parallel()
	svc := &host.Service{Tenant: "t", Connection: "c", Tokens: &host.Tokens{}}
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	_ = svc.PutToken(ctx, "k", sdk.Token{Value: "new", ExpiresAt: exp})
	_ = svc.InvalidateToken(ctx, "k", "old")
	if tok, found, _ := svc.GetToken(ctx, "k"); !found || tok.Value != "new" {
		t.Fatal("invalidating a stale value dropped the fresh token")
	}
	_ = svc.InvalidateToken(ctx, "k", "new")
	if _, found, _ := svc.GetToken(ctx, "k"); found {
		t.Fatal("token not dropped")
	}
}

func TestLimiterSpacesRequests(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	var slept time.Duration
	lim := &host.Limiter{
		Now:   func() time.Time { return now },
		Sleep: func(_ context.Context, d time.Duration) error { slept += d; now = now.Add(d); return nil },
	}
	svc := &host.Service{Tenant: "t", Connection: "c", Limiter: lim, Limits: map[string]float64{"*": 10}}
	var times []time.Time
	acquire := func() {
		t.Helper()
		if _, err := svc.Acquire(t.Context(), "user.get", 1); err != nil {
			t.Fatal(err)
		}
		times = append(times, now)
	}
	// Platforms count per clock second: never more than the rate in any
	// one-second window, hence in any clock second; never closer than half
	// the even spacing.
	check := func() {
		t.Helper()
		for i := range times {
			if i >= 10 && times[i].Sub(times[i-10]) < time.Second {
				t.Fatalf("11 requests within %s at 10/s", times[i].Sub(times[i-10]))
			}
			if i > 0 && times[i].Sub(times[i-1]) < 50*time.Millisecond {
				t.Fatalf("requests %s apart at 10/s", times[i].Sub(times[i-1]))
			}
		}
	}
	for range 30 {
		acquire()
	}
	check()
	// Back to back: ten a second, 50 ms apart.
	if slept != 2450*time.Millisecond {
		t.Fatalf("slept %s for 30 requests at 10/s, want 2.45s", slept)
	}

	// A caller whose pages take 50 and 140 ms in turn (95 ms on average,
	// under the 100 ms spacing) keeps the full rate: a late request is made
	// up by the next, not lost as with even pacing (120 ms a request).
	times, now = nil, now.Add(time.Minute)
	start := now
	for i := range 40 {
		now = now.Add([]time.Duration{50 * time.Millisecond, 140 * time.Millisecond}[i%2])
		acquire()
	}
	check()
	if took := now.Sub(start); took > 4100*time.Millisecond {
		t.Fatalf("40 requests with 95 ms of work each on average took %s at 10/s, want ~4s", took)
	}

	unlimited := &host.Service{Tenant: "t", Connection: "c", Limiter: lim}
	if w, _ := unlimited.Acquire(t.Context(), "x", 5); w != 0 {
		t.Fatal("unlimited service waited")
	}
}

// patches is a host.ConfigSaver that keeps what it was given.
type patches struct{ saved [][]byte }

func (p *patches) SaveConfigPatch(_ context.Context, _, _ string, patch []byte) error {
	p.saved = append(p.saved, patch)
	return nil
}

func TestUpdateConfigTakesOnlyDeclaredFields(t *testing.T) {
	t.Parallel()
	spec := sdk.Spec{Name: "crm", Version: "1", Config: []sdk.Field{
		{Name: "session", Type: sdk.TypeString, Secret: true},
		{Name: "page_size", Type: sdk.TypeInt},
	}}
	store := &patches{}
	svc := &host.Service{Tenant: "t", Connection: "c", Config: store, Spec: spec}
	ctx := t.Context()
	for _, tc := range []struct {
		patch, want string
	}{
		{`{"refresh_token":"r2"}`, "refresh_token: config patch refused: is not a crm config field"},
		{`{"session":"s2","refresh_token":"r2"}`, "refresh_token: config patch refused"},
		{`{"page_size":"many"}`, "page_size: config patch refused: want a whole number"},
		{`{"session":7}`, "session: config patch refused: want a string"},
		{`["session"]`, "not a JSON object"},
	} {
		err := svc.UpdateConfig(ctx, []byte(tc.patch))
		if !errors.Is(err, sdk.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("UpdateConfig(%s) = %v, want an invalid_config error with %q", tc.patch, err, tc.want)
		}
	}
	if len(store.saved) != 0 {
		t.Fatalf("refused patches were stored: %q", store.saved)
	}
	if err := svc.UpdateConfig(ctx, []byte(`{"session":"s2","page_size":50}`)); err != nil {
		t.Fatal(err)
	}
	if len(store.saved) != 1 {
		t.Fatalf("stored %d patches, want the good one", len(store.saved))
	}
}

// patcher is a connector whose Check persists a patch through the host.
type patcher struct {
	host  *sdk.Host
	patch string
}

func (p *patcher) Check(ctx context.Context) error { return p.host.UpdateConfig(ctx, []byte(p.patch)) }
func (p *patcher) Read(context.Context, sdk.ReadRequest, sdk.Emitter) error {
	return nil
}
func (p *patcher) Close(context.Context) error { return nil }

// A refused patch reaches the plugin over the broker as a classed error
// naming the key.
func TestRefusedPatchIsClassedOverTheWire(t *testing.T) {
	t.Parallel()
	spec := sdk.Spec{Name: "crm", Version: "1", Config: []sdk.Field{{Name: "patch", Type: sdk.TypeString}}}
	p := sdk.Plugin{Spec: spec, New: func(_ context.Context, cfg sdk.Config, h *sdk.Host) (sdk.Connector, error) {
		return &patcher{host: h, patch: cfg.String("patch")}, nil
	}}
	store := &patches{}
	r := sdk.NewTestRemote(t, p, &host.Service{Tenant: "t", Connection: "c", Config: store, Spec: spec}, "t", "c")
	err := r.Check(t.Context(), []byte(`{"patch":"{\"refresh_token\":\"r2\"}"}`))
	var se *sdk.Error
	if !errors.As(err, &se) || se.Class != sdk.ClassInvalidConfig || se.Field != "refresh_token" || !strings.Contains(err.Error(), "config patch refused") {
		t.Fatalf("check = %v, want invalid_config naming refresh_token", err)
	}
	if len(store.saved) != 0 {
		t.Fatal("a refused patch was stored")
	}
}

// members is a MemberFinder with one view per identifier value, and the
// records of each connection with the identifier values they carry; err,
// when set, is every lookup's answer.
type members struct {
	views   map[string]*store.MemberView
	records map[string][][]string
	err     error
	// recordsErr, when set, is RecordCarries' answer.
	recordsErr error
}

func (m members) FindMember(_ context.Context, tenant string, id mapping.Identity) (*store.MemberView, error) {
	if m.err != nil {
		return nil, m.err
	}
	if v, ok := m.views[tenant+"/"+id.Value]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("no member: %w", store.ErrNotFound)
}

func (m members) RecordCarries(_ context.Context, tenant, connection string, ids []mapping.Identity) (bool, error) {
	return slices.ContainsFunc(m.records[tenant+"/"+connection], func(values []string) bool {
		return !slices.ContainsFunc(ids, func(id mapping.Identity) bool { return !slices.Contains(values, id.Value) })
	}), cmp.Or(m.recordsErr, m.err)
}

// LookupMember tells a plugin whether the person is known, and the points
// and level only when a record of its own connection carries the
// identifier (with the sameRecord ones); its errors never repeat a phone.
func TestLookupMemberShowsOnlyWhatTheConnectionGave(t *testing.T) {
	t.Parallel()
	phone := mapping.Identity{Type: mapping.IDPhone, Value: "+8613800138000"}
	ouid := func(v string) mapping.Identity {
		return mapping.Identity{Type: mapping.IDTaobaoOUID, Scope: "shop", Value: v}
	}
	// m1 holds records of wx and tmall. tmall's CRM record carries ou-1;
	// its SPI record the phone with ou-2 (a family's other account); wx's
	// the phone.
	m1 := &store.MemberView{MemberID: "m1", Points: 120, Profile: store.Profile{Level: "3"},
		Sources: []store.SourceRef{{Connection: "wx", RecordID: "o1"}, {Connection: "tmall", RecordID: "ou-1"}}}
	found := members{
		views:   map[string]*store.MemberView{"t1/ou-1": m1, "t1/+8613800138000": m1, "t2/+8613900139000": m1},
		records: map[string][][]string{"t1/tmall": {{"ou-1"}, {"+8613800138000", "ou-2"}}, "t1/wx": {{"+8613800138000", "o1"}}, "t2/tmall": {{"+8613900139000"}}},
	}
	elsewhere := members{views: found.views, records: map[string][][]string{"t1/wx": {{"+8613800138000", "o1"}}}}
	for _, tc := range []struct {
		name       string
		finds      members
		id         mapping.Identity
		sameRecord []mapping.Identity
		want       sdk.MemberLookup
	}{
		{"carried by this connection's record", found, ouid("ou-1"), nil, sdk.MemberLookup{Found: true, Linked: true, PointsBalance: 120, Level: "3"}},
		{"carried with the asker's account", found, phone, []mapping.Identity{ouid("ou-2")}, sdk.MemberLookup{Found: true, Linked: true, PointsBalance: 120, Level: "3"}},
		{"carried with another account only", found, phone, []mapping.Identity{ouid("ou-1")}, sdk.MemberLookup{Found: true}},
		{"carried by other connections' records only", elsewhere, phone, nil, sdk.MemberLookup{Found: true}},
		{"nobody in this tenant", found, mapping.Identity{Type: mapping.IDPhone, Value: "+8613900139000"}, nil, sdk.MemberLookup{}},
		{"a shared phone", members{err: fmt.Errorf("held by 2 members (m1, m2): %w", store.ErrAmbiguous)}, phone, nil, sdk.MemberLookup{Found: true, Shared: true}},
		{"a blocked number", members{err: fmt.Errorf("identity phone: value %q is %w", phone.Value, identity.ErrBlocked)}, phone, nil, sdk.MemberLookup{}},
	} {
		svc := &host.Service{Tenant: "t1", Connection: "tmall", Members: tc.finds}
		got, err := svc.LookupMember(t.Context(), tc.id, tc.sameRecord...)
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}

	for _, tc := range []struct {
		name  string
		finds members
		id    mapping.Identity
		class sdk.Class
	}{
		{"a malformed phone", found, mapping.Identity{Type: mapping.IDPhone, Value: "138-0013-80x0"}, sdk.ClassPermanent},
		{"an unknown type", found, mapping.Identity{Type: "passport", Value: "138-0013-80x0"}, sdk.ClassPermanent},
		{"the store failing", members{err: errors.New("disk I/O error")}, phone, sdk.ClassUnavailable},
		{"the store failing on the records", members{views: map[string]*store.MemberView{"t1/+8613800138000": {MemberID: "m1"}}, recordsErr: errors.New("disk I/O error")}, phone, sdk.ClassUnavailable},
	} {
		svc := &host.Service{Tenant: "t1", Connection: "tmall", Members: tc.finds}
		_, err := svc.LookupMember(t.Context(), tc.id)
		if sdk.ClassOf(err) != tc.class || err == nil || strings.Contains(err.Error(), "138") {
			t.Errorf("%s: %v, want a %s error that does not repeat the number", tc.name, err, tc.class)
		}
	}
	if _, err := (&host.Service{Tenant: "t1", Connection: "tmall"}).LookupMember(t.Context(), phone); sdk.ClassOf(err) != sdk.ClassUnavailable {
		t.Errorf("no store: %v, want unavailable", err)
	}
}
