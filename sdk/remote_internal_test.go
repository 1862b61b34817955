package sdk

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc"

	"github.com/channelhub/channelhub/sdk/internal/pb"
)

// shortWriter answers one result, whatever the actions: a plugin not built on
// this sdk.
type shortWriter struct{ pb.ConnectorClient }

func (shortWriter) Write(context.Context, *pb.WriteRequest, ...grpc.CallOption) (*pb.WriteResponse, error) {
	return &pb.WriteResponse{Results: []*pb.ActionResult{{Key: "a", Status: pb.ActionResult_APPLIED}}}, nil
}

// The hub pairs results with actions by position: a plugin that does not
// answer each action once is refused, not trusted.
func TestRemoteWriteRefusesMismatchedResults(t *testing.T) {
	t.Parallel()
	r := &Remote{client: shortWriter{}}
	res, err := r.Write(t.Context(), nil, []Action{{Key: "a", Type: "x"}, {Key: "b", Type: "x"}})
	if res != nil || !errors.Is(err, ErrPermanent) {
		t.Fatalf("Write = %v, %v; want a permanent error", res, err)
	}
	if res, err := r.Write(t.Context(), nil, []Action{{Key: "a", Type: "x"}}); err != nil || len(res) != 1 || res[0].Status != StatusApplied {
		t.Fatalf("Write of one = %v, %v", res, err)
	}
}
