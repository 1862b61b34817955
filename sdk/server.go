package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/hashicorp/go-plugin"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/channelhub/channelhub/sdk/internal/pb"
)

// server adapts a Plugin to the gRPC Connector service (plugin side).
type server struct {
	pb.UnimplementedConnectorServer
	plugin *Plugin
	broker *plugin.GRPCBroker
	log    zerolog.Logger

	mu    sync.Mutex
	hosts map[uint32]HostService
	// current is the connector built for the last config seen; a call with
	// another config (a rotated token, an edited connection) rebuilds it.
	current    Connector
	currentKey []byte
}

// connector returns the connector for the call's context, building it when
// the config changed.
func (s *server) connector(ctx context.Context, cc *pb.CallContext) (Connector, error) {
	key := fmt.Appendf(nil, "%s\x00%s\x00%d\x00%s", cc.GetTenant(), cc.GetConnection(), cc.GetHostBrokerId(), cc.GetConfigJson())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current != nil && bytes.Equal(key, s.currentKey) {
		return s.current, nil
	}
	cfg, err := s.plugin.Spec.ParseConfigJSON(cc.GetConfigJson())
	if err != nil {
		return nil, err
	}
	var svc HostService
	if id := cc.GetHostBrokerId(); id != 0 && s.broker != nil {
		if svc = s.hosts[id]; svc == nil {
			conn, err := s.broker.Dial(id)
			if err != nil {
				return nil, UnavailableError(err, "dial hub services")
			}
			svc = hostClient{c: pb.NewHostClient(conn)}
			s.hosts[id] = svc
		}
	}
	log := s.log.With().Str("connector", s.plugin.Spec.Name).Str("tenant", cc.GetTenant()).Str("connection", cc.GetConnection()).Logger()
	c, err := s.plugin.New(ctx, cfg, NewHost(log, svc, nil))
	if err != nil {
		return nil, err
	}
	if s.current != nil {
		if err := s.current.Close(ctx); err != nil {
			log.Warn().Err(err).Msg("closing connector for old config")
		}
	}
	s.current, s.currentKey = c, key
	return c, nil
}

// recovered turns a panic in connector code into a permanent error.
func recovered(err *error) {
	if r := recover(); r != nil {
		*err = toStatus(PermanentError("", "connector panicked: %v\n%s", r, debug.Stack()))
	}
}

func (s *server) Spec(context.Context, *pb.SpecRequest) (*pb.SpecResponse, error) {
	return specToPB(s.plugin.Spec), nil
}

func (s *server) Check(ctx context.Context, req *pb.CheckRequest) (_ *pb.CheckResponse, err error) {
	defer recovered(&err)
	c, err := s.connector(ctx, req.GetCtx())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.CheckResponse{}, toStatus(c.Check(ctx))
}

func (s *server) Read(req *pb.ReadRequest, stream pb.Connector_ReadServer) (err error) {
	defer recovered(&err)
	ctx := stream.Context()
	c, err := s.connector(ctx, req.GetCtx())
	if err != nil {
		return toStatus(err)
	}
	if _, ok := s.plugin.Spec.Stream(req.GetStream()); !ok {
		return toStatus(ConfigError("stream", "%s has no stream %q", s.plugin.Spec.Name, req.GetStream()))
	}
	mode := Mode(req.GetMode())
	if mode != ModeFull && mode != ModeIncremental {
		mode = ModeFull
	}
	out := &streamEmitter{send: stream.Send, stream: req.GetStream()}
	if err := c.Read(ctx, ReadRequest{Stream: req.GetStream(), Mode: mode, Checkpoint: req.GetCheckpoint()}, out); err != nil {
		// Deliver what was read before the failure; its checkpoint (if any)
		// was already sent, records after it are re-read on retry.
		_ = out.flush(nil)
		return toStatus(err)
	}
	if err := out.flush(nil); err != nil {
		return err
	}
	return stream.Send(&pb.ReadMessage{Msg: &pb.ReadMessage_Status{Status: &pb.StreamStatus{State: pb.StreamStatus_DONE}}})
}

func (s *server) Write(ctx context.Context, req *pb.WriteRequest) (_ *pb.WriteResponse, err error) {
	defer recovered(&err)
	c, err := s.connector(ctx, req.GetCtx())
	if err != nil {
		return nil, toStatus(err)
	}
	w, ok := c.(Writer)
	if !ok {
		return nil, toStatus(PermanentError("", "%s does not write", s.plugin.Spec.Name))
	}
	actions := actionsFromPB(req.GetActions())
	results := w.Write(ctx, actions)
	if len(results) != len(actions) {
		return nil, toStatus(PermanentError("", "connector returned %d results for %d actions", len(results), len(actions)))
	}
	return &pb.WriteResponse{Results: resultsToPB(results)}, nil
}

func (s *server) HandleWebhook(ctx context.Context, req *pb.WebhookRequest) (_ *pb.WebhookResponse, err error) {
	defer recovered(&err)
	c, err := s.connector(ctx, req.GetCtx())
	if err != nil {
		return nil, toStatus(err)
	}
	h, ok := c.(WebhookHandler)
	if !ok {
		return nil, toStatus(PermanentError("", "%s takes no webhooks", s.plugin.Spec.Name))
	}
	resp, err := h.HandleWebhook(ctx, WebhookRequest{Method: req.GetMethod(), Path: req.GetPath(), Query: req.GetQuery(), Header: headerFromPB(req.GetHeaders()), Body: req.GetBody()})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.WebhookResponse{Status: int32(resp.Status), Headers: headerToPB(resp.Header), Body: resp.Body}
	for _, r := range resp.Records {
		out.Records = append(out.Records, recordToPB(r))
	}
	return out, nil
}

// Batch limits: a batch is sent when it holds batchRecords records or about
// batchBytes of encoded records, whichever comes first.
const (
	batchRecords = 1000
	batchBytes   = 4 << 20
)

// streamEmitter batches records into RecordBatch messages.
type streamEmitter struct {
	send   func(*pb.ReadMessage) error
	stream string
	batch  []*pb.Record
	size   int
}

func (e *streamEmitter) Emit(ctx context.Context, r Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.Stream == "" {
		r.Stream = e.stream
	}
	if r.ID == "" && r.Bad == nil {
		return errors.New("sdk: record without ID")
	}
	// Flush a full batch before adding to it, not after filling it, so that
	// a checkpoint that follows the last record travels in the same batch.
	if len(e.batch) >= batchRecords || e.size >= batchBytes {
		if err := e.flush(nil); err != nil {
			return err
		}
	}
	p := recordToPB(r)
	e.batch = append(e.batch, p)
	e.size += proto.Size(p)
	return nil
}

func (e *streamEmitter) Checkpoint(ctx context.Context, cursor []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if cursor == nil {
		cursor = []byte{}
	}
	return e.flush(cursor)
}

func (e *streamEmitter) Progress(ctx context.Context, done, total int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return e.send(&pb.ReadMessage{Msg: &pb.ReadMessage_Progress{Progress: &pb.Progress{Done: done, Total: total}}})
}

// flush sends the pending records, with cursor as their checkpoint when not nil.
func (e *streamEmitter) flush(cursor []byte) error {
	if len(e.batch) == 0 && cursor == nil {
		return nil
	}
	b := &pb.RecordBatch{Records: e.batch}
	if cursor != nil {
		b.Checkpoint = &pb.Checkpoint{Cursor: cursor}
	}
	e.batch, e.size = nil, 0
	if err := e.send(&pb.ReadMessage{Msg: &pb.ReadMessage_Batch{Batch: b}}); err != nil {
		return fmt.Errorf("send batch: %w", err)
	}
	return nil
}
