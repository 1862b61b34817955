package sdk

import (
	"context"
	"errors"
	"net/http"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/channelhub/channelhub/mapping"
	"github.com/channelhub/channelhub/sdk/internal/pb"
)

// This file maps sdk values to and from the generated protocol types. It is
// the one place that knows both.

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func identitiesToPB(ids []mapping.Identity) []*pb.Identity {
	out := make([]*pb.Identity, len(ids))
	for i, id := range ids {
		out[i] = &pb.Identity{Type: string(id.Type), Scope: id.Scope, Value: id.Value}
	}
	return out
}

func identitiesFromPB(ids []*pb.Identity) []mapping.Identity {
	out := make([]mapping.Identity, len(ids))
	for i, id := range ids {
		out[i] = mapping.Identity{Type: mapping.IdentityType(id.GetType()), Scope: id.GetScope(), Value: id.GetValue()}
	}
	return out
}

func recordToPB(r Record) *pb.Record {
	p := &pb.Record{Stream: r.Stream, Id: r.ID, UpdatedAtMs: ms(r.UpdatedAt), Deleted: r.Deleted}
	switch {
	case r.Member != nil:
		m := r.Member
		pm := &pb.Member{
			Identities: identitiesToPB(m.Identities), Name: m.Name, Gender: string(m.Gender),
			Birthday: m.Birthday, City: m.City, Province: m.Province, Country: m.Country,
			Level: m.Level, Points: m.Points, Subscribed: m.Subscribed,
			SubscribedAtMs: ms(m.SubscribedAt), Attributes: m.Attributes,
		}
		for _, t := range m.Tags {
			pm.Tags = append(pm.Tags, &pb.Tag{Name: t.Name, Group: t.Group})
		}
		for _, c := range m.Consents {
			pm.Consents = append(pm.Consents, &pb.Consent{Channel: string(c.Channel), OptIn: c.OptIn, Source: c.Source, AtMs: ms(c.At)})
		}
		p.Data = &pb.Record_Member{Member: pm}
	case r.Order != nil:
		o := r.Order
		po := &pb.Order{
			Platform: o.Platform, Shop: o.Shop, OrderId: o.OrderID, Status: o.Status.String(),
			PlatformStatus: o.PlatformStatus, TotalFen: int64(o.TotalFen), PaidFen: int64(o.PaidFen),
			DiscountFen: int64(o.DiscountFen), ShippingFen: int64(o.ShippingFen), RefundFen: int64(o.RefundFen),
			CreatedAtMs: ms(o.CreatedAt), PaidAtMs: ms(o.PaidAt), UpdatedAtMs: ms(o.UpdatedAt),
			Buyer: identitiesToPB(o.Buyer), Region: o.Region,
		}
		for _, it := range o.Items {
			po.Items = append(po.Items, &pb.OrderItem{Sku: it.SKU, ProductId: it.ProductID, Title: it.Title, Quantity: it.Quantity, UnitPriceFen: int64(it.UnitPriceFen)})
		}
		p.Data = &pb.Record_Order{Order: po}
	case r.Points != nil:
		e := r.Points
		p.Data = &pb.Record_Points{Points: &pb.PointsEntry{
			EntryId: e.EntryID, Member: identitiesToPB([]mapping.Identity{e.Member})[0], Kind: string(e.Kind),
			Delta: e.Delta, Reason: e.Reason, OrderId: e.OrderID, OccurredAtMs: ms(e.OccurredAt),
		}}
	case r.Bad != nil:
		p.Data = &pb.Record_Bad{Bad: &pb.BadRecord{Reason: r.Bad.Reason, Raw: r.Bad.Raw, Location: r.Bad.Location}}
	case r.Receipt != nil:
		c := r.Receipt
		p.Data = &pb.Record_Receipt{Receipt: &pb.Receipt{ActionKey: c.ActionKey, PlatformRef: c.PlatformRef, Delivered: c.Delivered, Code: c.Code, Detail: c.Detail, AtMs: ms(c.At)}}
	}
	return p
}

func recordFromPB(p *pb.Record) Record {
	r := Record{Stream: p.GetStream(), ID: p.GetId(), UpdatedAt: fromMS(p.GetUpdatedAtMs()), Deleted: p.GetDeleted()}
	switch d := p.GetData().(type) {
	case *pb.Record_Member:
		pm := d.Member
		m := &mapping.Member{
			Identities: identitiesFromPB(pm.GetIdentities()), Name: pm.GetName(), Gender: mapping.Gender(pm.GetGender()),
			Birthday: pm.GetBirthday(), City: pm.GetCity(), Province: pm.GetProvince(), Country: pm.GetCountry(),
			Level: pm.GetLevel(), Points: pm.GetPoints(), Subscribed: pm.GetSubscribed(),
			SubscribedAt: fromMS(pm.GetSubscribedAtMs()), Attributes: pm.GetAttributes(),
		}
		for _, t := range pm.GetTags() {
			m.Tags = append(m.Tags, mapping.Tag{Name: t.GetName(), Group: t.GetGroup()})
		}
		for _, c := range pm.GetConsents() {
			m.Consents = append(m.Consents, mapping.Consent{Channel: mapping.ConsentChannel(c.GetChannel()), OptIn: c.GetOptIn(), Source: c.GetSource(), At: fromMS(c.GetAtMs())})
		}
		r.Member = m
	case *pb.Record_Order:
		po := d.Order
		st, _ := mapping.ParseOrderStatus(po.GetStatus())
		o := &mapping.Order{
			Platform: po.GetPlatform(), Shop: po.GetShop(), OrderID: po.GetOrderId(), Status: st,
			PlatformStatus: po.GetPlatformStatus(), TotalFen: mapping.Fen(po.GetTotalFen()), PaidFen: mapping.Fen(po.GetPaidFen()),
			DiscountFen: mapping.Fen(po.GetDiscountFen()), ShippingFen: mapping.Fen(po.GetShippingFen()), RefundFen: mapping.Fen(po.GetRefundFen()),
			CreatedAt: fromMS(po.GetCreatedAtMs()), PaidAt: fromMS(po.GetPaidAtMs()), UpdatedAt: fromMS(po.GetUpdatedAtMs()),
			Buyer: identitiesFromPB(po.GetBuyer()), Region: po.GetRegion(),
		}
		for _, it := range po.GetItems() {
			o.Items = append(o.Items, mapping.OrderItem{SKU: it.GetSku(), ProductID: it.GetProductId(), Title: it.GetTitle(), Quantity: it.GetQuantity(), UnitPriceFen: mapping.Fen(it.GetUnitPriceFen())})
		}
		r.Order = o
	case *pb.Record_Points:
		e := d.Points
		r.Points = &mapping.PointsEntry{
			EntryID: e.GetEntryId(), Member: identitiesFromPB([]*pb.Identity{e.GetMember()})[0], Kind: mapping.PointsKind(e.GetKind()),
			Delta: e.GetDelta(), Reason: e.GetReason(), OrderID: e.GetOrderId(), OccurredAt: fromMS(e.GetOccurredAtMs()),
		}
	case *pb.Record_Bad:
		r.Bad = &BadRecord{Reason: d.Bad.GetReason(), Raw: d.Bad.GetRaw(), Location: d.Bad.GetLocation()}
	case *pb.Record_Receipt:
		c := d.Receipt
		r.Receipt = &Receipt{ActionKey: c.GetActionKey(), PlatformRef: c.GetPlatformRef(), Delivered: c.GetDelivered(), Code: c.GetCode(), Detail: c.GetDetail(), At: fromMS(c.GetAtMs())}
	}
	return r
}

func specToPB(s Spec) *pb.SpecResponse {
	out := &pb.SpecResponse{
		Name: s.Name, Version: s.Version, Platform: s.Platform, Description: s.Description,
		ConfigSchema: s.JSONSchema(), Webhook: s.Webhook, ProtocolVersion: ProtocolVersion,
	}
	for _, st := range s.Streams {
		out.Streams = append(out.Streams, &pb.StreamSpec{Name: st.Name, Kind: string(st.Kind), Cursor: st.Cursor, Sorted: st.Sorted, Incremental: st.Incremental, Description: st.Description})
	}
	for _, a := range s.Actions {
		out.Actions = append(out.Actions, &pb.ActionSpec{Name: a.Name, Description: a.Description, MaxBatch: uint32(a.MaxBatch)})
	}
	for _, f := range s.Config {
		out.Config = append(out.Config, &pb.ConfigField{Name: f.Name, Type: string(f.Type), Description: f.Description, Required: f.Required, Secret: f.Secret, Default: f.Default, Example: f.Example, Enum: f.Enum})
	}
	for _, r := range s.RateLimits {
		out.RateLimits = append(out.RateLimits, &pb.RateLimit{Api: r.API, PerSecond: r.PerSecond, Burst: uint32(r.Burst)})
	}
	return out
}

func specFromPB(p *pb.SpecResponse) Spec {
	s := Spec{Name: p.GetName(), Version: p.GetVersion(), Platform: p.GetPlatform(), Description: p.GetDescription(), Webhook: p.GetWebhook(), Protocol: int(p.GetProtocolVersion())}
	for _, st := range p.GetStreams() {
		s.Streams = append(s.Streams, StreamSpec{Name: st.GetName(), Kind: StreamKind(st.GetKind()), Cursor: st.GetCursor(), Sorted: st.GetSorted(), Incremental: st.GetIncremental(), Description: st.GetDescription()})
	}
	for _, a := range p.GetActions() {
		s.Actions = append(s.Actions, ActionSpec{Name: a.GetName(), Description: a.GetDescription(), MaxBatch: int(a.GetMaxBatch())})
	}
	for _, f := range p.GetConfig() {
		s.Config = append(s.Config, Field{Name: f.GetName(), Type: FieldType(f.GetType()), Description: f.GetDescription(), Required: f.GetRequired(), Secret: f.GetSecret(), Default: f.GetDefault(), Example: f.GetExample(), Enum: f.GetEnum()})
	}
	for _, r := range p.GetRateLimits() {
		s.RateLimits = append(s.RateLimits, RateLimit{API: r.GetApi(), PerSecond: r.GetPerSecond(), Burst: int(r.GetBurst())})
	}
	return s
}

func actionsToPB(as []Action) []*pb.Action {
	out := make([]*pb.Action, len(as))
	for i, a := range as {
		out[i] = &pb.Action{Key: a.Key, Type: a.Type, Target: identitiesToPB(a.Target), Params: a.Params}
	}
	return out
}

func actionsFromPB(ps []*pb.Action) []Action {
	out := make([]Action, len(ps))
	for i, p := range ps {
		out[i] = Action{Key: p.GetKey(), Type: p.GetType(), Target: identitiesFromPB(p.GetTarget()), Params: p.GetParams()}
	}
	return out
}

func resultsToPB(rs []ActionResult) []*pb.ActionResult {
	out := make([]*pb.ActionResult, len(rs))
	for i, r := range rs {
		out[i] = &pb.ActionResult{Key: r.Key, Status: pb.ActionResult_Status(r.Status), PlatformRef: r.PlatformRef}
		if c := r.Consent; c != nil {
			out[i].Consent = &pb.Consent{Channel: string(c.Channel), OptIn: c.OptIn, Source: c.Source, AtMs: ms(c.At)}
		}
		if r.Err != nil {
			out[i].Error = errorToPB(r.Err)
		}
	}
	return out
}

func resultsFromPB(ps []*pb.ActionResult) []ActionResult {
	out := make([]ActionResult, len(ps))
	for i, p := range ps {
		out[i] = ActionResult{Key: p.GetKey(), Status: ActionStatus(p.GetStatus()), PlatformRef: p.GetPlatformRef()}
		if c := p.GetConsent(); c != nil {
			out[i].Consent = &mapping.Consent{Channel: mapping.ConsentChannel(c.GetChannel()), OptIn: c.GetOptIn(), Source: c.GetSource(), At: fromMS(c.GetAtMs())}
		}
		if p.GetError() != nil {
			out[i].Err = errorFromPB(p.GetError())
		}
	}
	return out
}

func headerToPB(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

func headerFromPB(m map[string]string) http.Header {
	h := make(http.Header, len(m))
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

// classToPB and the code table keep one order: sdk.Class values.
var classPB = map[Class]pb.Error_Class{
	ClassAuth: pb.Error_AUTH, ClassThrottled: pb.Error_THROTTLED, ClassUnavailable: pb.Error_UNAVAILABLE,
	ClassInvalidConfig: pb.Error_INVALID_CONFIG, ClassBadRecord: pb.Error_BAD_RECORD, ClassPermanent: pb.Error_PERMANENT,
}

var classCode = map[Class]codes.Code{
	ClassAuth: codes.Unauthenticated, ClassThrottled: codes.ResourceExhausted, ClassUnavailable: codes.Unavailable,
	ClassInvalidConfig: codes.InvalidArgument, ClassBadRecord: codes.DataLoss, ClassPermanent: codes.FailedPrecondition,
}

func errorToPB(err error) *pb.Error {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Class: ClassOf(err), Message: err.Error()}
	}
	msg := e.Message
	if e.Err != nil {
		if msg != "" {
			msg += ": "
		}
		msg += e.Err.Error()
	}
	return &pb.Error{Class: classPB[e.Class], Message: msg, RetryAfterMs: e.RetryAfter.Milliseconds(), PlatformCode: e.PlatformCode, Field: e.Field}
}

func errorFromPB(p *pb.Error) *Error {
	c := ClassPermanent
	for k, v := range classPB {
		if v == p.GetClass() {
			c = k
		}
	}
	return &Error{Class: c, Message: p.GetMessage(), RetryAfter: time.Duration(p.GetRetryAfterMs()) * time.Millisecond, PlatformCode: p.GetPlatformCode(), Field: p.GetField()}
}

// toStatus turns an error returned by connector code into a gRPC status that
// carries the classed error as a detail.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, err.Error())
	}
	pe := errorToPB(err)
	var c Class
	for k, v := range classPB {
		if v == pe.GetClass() {
			c = k
		}
	}
	st := status.New(classCode[c], pe.GetMessage())
	if withDetail, derr := st.WithDetails(pe); derr == nil {
		st = withDetail
	}
	return st.Err()
}

// fromStatus turns a gRPC error seen by the hub back into a classed error.
// A plugin that died or a transport that broke is ClassUnavailable.
func fromStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, d := range st.Details() {
		if pe, ok := d.(*pb.Error); ok {
			return errorFromPB(pe)
		}
	}
	switch st.Code() {
	case codes.Canceled:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Class: ClassUnavailable, Message: "plugin call cancelled: " + st.Message()}
	case codes.DeadlineExceeded:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Class: ClassUnavailable, Message: "plugin call timed out: " + st.Message()}
	case codes.Unavailable, codes.Internal, codes.Unknown, codes.Aborted:
		return &Error{Class: ClassUnavailable, Message: "plugin unavailable: " + st.Message()}
	case codes.ResourceExhausted:
		return &Error{Class: ClassPermanent, Message: "plugin message too large or exhausted: " + st.Message()}
	}
	return &Error{Class: ClassPermanent, Message: st.Message()}
}
