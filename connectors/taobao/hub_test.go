package taobao_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/connectors/taobao"
	"github.com/channelhub/channelhub/connectors/taobao/sandbox"
	"github.com/channelhub/channelhub/sdk"
)

// TestForHubConfigChecks: the connection ForHub hands the hub, plus
// api_base, is a valid config whose credentials the sandbox accepts.
func TestForHubConfigChecks(t *testing.T) {
	h, _, conn := sandbox.ForHub(3, 200)
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn["api_base"] = srv.URL
	cfg, err := taobao.Spec.ParseConfig(conn)
	if err != nil {
		t.Fatal(err)
	}
	k, err := taobao.New(context.Background(), cfg, sdk.NewHost(zerolog.Nop(), nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}
