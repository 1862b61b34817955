package sdk

import (
	"context"
	"time"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk/internal/pb"
)

// hostServer serves a HostService to a plugin (hub side).
type hostServer struct {
	pb.UnimplementedHostServer
	svc HostService
}

func (h *hostServer) GetToken(ctx context.Context, k *pb.TokenKey) (*pb.Token, error) {
	tok, found, err := h.svc.GetToken(ctx, k.GetKey())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.Token{Value: tok.Value, ExpiresAtMs: ms(tok.ExpiresAt), Found: found}, nil
}

func (h *hostServer) PutToken(ctx context.Context, r *pb.PutTokenRequest) (*pb.Empty, error) {
	return &pb.Empty{}, toStatus(h.svc.PutToken(ctx, r.GetKey(), Token{Value: r.GetValue(), ExpiresAt: fromMS(r.GetExpiresAtMs())}))
}

func (h *hostServer) InvalidateToken(ctx context.Context, r *pb.InvalidateTokenRequest) (*pb.Empty, error) {
	return &pb.Empty{}, toStatus(h.svc.InvalidateToken(ctx, r.GetKey(), r.GetValue()))
}

func (h *hostServer) Acquire(ctx context.Context, r *pb.AcquireRequest) (*pb.AcquireResponse, error) {
	n := int(r.GetN())
	if n < 1 {
		n = 1
	}
	waited, err := h.svc.Acquire(ctx, r.GetApi(), n)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.AcquireResponse{WaitedMs: waited.Milliseconds()}, nil
}

func (h *hostServer) Log(context.Context, *pb.LogEntry) (*pb.Empty, error) {
	// Plugins log to stderr, which go-plugin forwards; this RPC exists for
	// plugins in other languages.
	return &pb.Empty{}, nil
}

func (h *hostServer) UpdateConfig(ctx context.Context, r *pb.UpdateConfigRequest) (*pb.Empty, error) {
	return &pb.Empty{}, toStatus(h.svc.UpdateConfig(ctx, r.GetPatchJson()))
}

func (h *hostServer) LookupMember(ctx context.Context, r *pb.LookupMemberRequest) (*pb.LookupMemberResponse, error) {
	m, err := h.svc.LookupMember(ctx, identitiesFromPB([]*pb.Identity{r.GetIdentity()})[0], identitiesFromPB(r.GetSameRecord())...)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.LookupMemberResponse{Found: m.Found, Shared: m.Shared, Linked: m.Linked, PointsBalance: m.PointsBalance, Level: m.Level}, nil
}

// hostClient is a HostService reached over the broker (plugin side).
type hostClient struct{ c pb.HostClient }

func (h hostClient) GetToken(ctx context.Context, key string) (Token, bool, error) {
	t, err := h.c.GetToken(ctx, &pb.TokenKey{Key: key})
	if err != nil {
		return Token{}, false, fromStatus(ctx, err)
	}
	return Token{Value: t.GetValue(), ExpiresAt: fromMS(t.GetExpiresAtMs())}, t.GetFound(), nil
}

func (h hostClient) PutToken(ctx context.Context, key string, tok Token) error {
	_, err := h.c.PutToken(ctx, &pb.PutTokenRequest{Key: key, Value: tok.Value, ExpiresAtMs: ms(tok.ExpiresAt)})
	return fromStatus(ctx, err)
}

func (h hostClient) InvalidateToken(ctx context.Context, key, value string) error {
	_, err := h.c.InvalidateToken(ctx, &pb.InvalidateTokenRequest{Key: key, Value: value})
	return fromStatus(ctx, err)
}

func (h hostClient) Acquire(ctx context.Context, api string, n int) (time.Duration, error) {
	r, err := h.c.Acquire(ctx, &pb.AcquireRequest{Api: api, N: uint32(n)})
	if err != nil {
		return 0, fromStatus(ctx, err)
	}
	return time.Duration(r.GetWaitedMs()) * time.Millisecond, nil
}

func (h hostClient) UpdateConfig(ctx context.Context, patch []byte) error {
	_, err := h.c.UpdateConfig(ctx, &pb.UpdateConfigRequest{PatchJson: patch})
	return fromStatus(ctx, err)
}

func (h hostClient) LookupMember(ctx context.Context, id mapping.Identity, sameRecord ...mapping.Identity) (MemberLookup, error) {
	r, err := h.c.LookupMember(ctx, &pb.LookupMemberRequest{Identity: identitiesToPB([]mapping.Identity{id})[0], SameRecord: identitiesToPB(sameRecord)})
	if err != nil {
		return MemberLookup{}, fromStatus(ctx, err)
	}
	return MemberLookup{Found: r.GetFound(), Shared: r.GetShared(), Linked: r.GetLinked(), PointsBalance: r.GetPointsBalance(), Level: r.GetLevel()}, nil
}
