package sdk

import (
	"context"
	"errors"
	"io"

	"github.com/channelhub/channelhub/sdk/internal/pb"
)

// Remote is the hub's handle on one connector plugin serving one connection.
// Every method passes the caller's ctx to the RPC and returns classed errors
// (errors.Is(err, ErrThrottled) works as on the plugin side); a plugin that
// crashed or a broken transport gives ClassUnavailable.
type Remote struct {
	client     pb.ConnectorClient
	tenant     string
	connection string
	hostID     uint32
}

func (r *Remote) callContext(config []byte) *pb.CallContext {
	return &pb.CallContext{Tenant: r.tenant, Connection: r.connection, ConfigJson: config, HostBrokerId: r.hostID}
}

// Spec asks the plugin for its spec.
func (r *Remote) Spec(ctx context.Context) (Spec, error) {
	resp, err := r.client.Spec(ctx, &pb.SpecRequest{})
	if err != nil {
		return Spec{}, fromStatus(ctx, err)
	}
	return specFromPB(resp), nil
}

// Check asks the plugin to verify the connection's credentials. config is
// the connection's config as a JSON object.
func (r *Remote) Check(ctx context.Context, config []byte) error {
	_, err := r.client.Check(ctx, &pb.CheckRequest{Ctx: r.callContext(config)})
	return fromStatus(ctx, err)
}

// Read starts reading a stream.
func (r *Remote) Read(ctx context.Context, config []byte, req ReadRequest) (*ReadStream, error) {
	s, err := r.client.Read(ctx, &pb.ReadRequest{Ctx: r.callContext(config), Stream: req.Stream, Mode: pb.ReadRequest_Mode(req.Mode), Checkpoint: req.Checkpoint})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	return &ReadStream{ctx: ctx, s: s}, nil
}

// Write sends a batch of actions and returns one result per action.
func (r *Remote) Write(ctx context.Context, config []byte, actions []Action) ([]ActionResult, error) {
	resp, err := r.client.Write(ctx, &pb.WriteRequest{Ctx: r.callContext(config), Actions: actionsToPB(actions)})
	if err != nil {
		return nil, fromStatus(ctx, err)
	}
	// The hub pairs results with actions by position: a plugin that does not
	// answer each once (one not built on this sdk) is refused whole.
	if n := len(resp.GetResults()); n != len(actions) {
		return nil, PermanentError("", "plugin returned %d results for %d actions", n, len(actions))
	}
	return resultsFromPB(resp.GetResults()), nil
}

// HandleWebhook passes an inbound callback to the plugin.
func (r *Remote) HandleWebhook(ctx context.Context, config []byte, req WebhookRequest) (WebhookResponse, error) {
	resp, err := r.client.HandleWebhook(ctx, &pb.WebhookRequest{Ctx: r.callContext(config), Method: req.Method, Path: req.Path, Query: req.Query, Headers: headerToPB(req.Header), Body: req.Body})
	if err != nil {
		return WebhookResponse{}, fromStatus(ctx, err)
	}
	out := WebhookResponse{Status: int(resp.GetStatus()), Header: headerFromPB(resp.GetHeaders()), Body: resp.GetBody()}
	for _, p := range resp.GetRecords() {
		out.Records = append(out.Records, recordFromPB(p))
	}
	return out, nil
}

// Message is one message of a read stream: a batch of records with an
// optional checkpoint, or progress, or the end-of-stream status.
type Message struct {
	Records []Record
	// Checkpoint is the cursor that holds after Records; nil when none.
	Checkpoint []byte
	// Progress is set on progress messages.
	Progress *Progress
	// Done is set on the final message of a stream that completed.
	Done bool
}

// Progress is how far a stream has read.
type Progress struct{ Done, Total int64 }

// ReadStream is a stream being read.
type ReadStream struct {
	ctx context.Context
	s   pb.Connector_ReadClient
}

// Next returns the next message, io.EOF after the last one, or a classed
// error. A stream that ends without its Done message ended early.
func (s *ReadStream) Next() (Message, error) {
	m, err := s.s.Recv()
	if errors.Is(err, io.EOF) {
		return Message{}, io.EOF
	}
	if err != nil {
		return Message{}, fromStatus(s.ctx, err)
	}
	switch v := m.GetMsg().(type) {
	case *pb.ReadMessage_Batch:
		out := Message{Records: make([]Record, len(v.Batch.GetRecords()))}
		for i, p := range v.Batch.GetRecords() {
			out.Records[i] = recordFromPB(p)
		}
		if cp := v.Batch.GetCheckpoint(); cp != nil {
			out.Checkpoint = cp.GetCursor()
			if out.Checkpoint == nil {
				out.Checkpoint = []byte{}
			}
		}
		return out, nil
	case *pb.ReadMessage_Progress:
		return Message{Progress: &Progress{Done: v.Progress.GetDone(), Total: v.Progress.GetTotal()}}, nil
	case *pb.ReadMessage_Status:
		return Message{Done: v.Status.GetState() == pb.StreamStatus_DONE}, nil
	}
	return Message{}, nil
}
