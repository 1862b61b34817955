package douyin_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/channelhub/channelhub/connectors/douyin"
	"github.com/channelhub/channelhub/connectors/douyin/sandbox"
	"github.com/channelhub/channelhub/sdk"
)

func TestReadmeCoversTheSpec(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	var names []string
	for _, f := range douyin.Spec.Config {
		names = append(names, "`"+f.Name+"`")
	}
	for _, s := range douyin.Spec.Streams {
		names = append(names, "`"+s.Name+"`")
	}
	for _, a := range douyin.Spec.Actions {
		names = append(names, "`"+a.Name+"`")
	}
	for _, n := range names {
		if !strings.Contains(doc, n) {
			t.Errorf("README.md does not mention %s", n)
		}
	}
}

func TestForHubConfigFitsTheSpec(t *testing.T) {
	t.Parallel()
	_, creds, conn := sandbox.ForHub(3, 200)
	conn["api_base"] = "http://127.0.0.1:1"
	cfg, err := douyin.Spec.ParseConfig(conn)
	if err != nil {
		t.Fatalf("the registry config does not parse: %v", err)
	}
	if cfg.Secret(douyin.FieldAppSecret).Reveal() != creds["app_secret"] || cfg.Int(douyin.FieldMemberAppID) == 0 {
		t.Fatalf("config %v does not carry the credentials %v", conn, creds)
	}
}

func TestNewRejectsBadValues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sandbox.Config{Orders: 10, Members: 50})
	for field, v := range map[string]any{"shop_id": -1, "page_size": 101, "lag": "-1s", "api_base": "not a url"} {
		raw := map[string]any{}
		for k, x := range e.raw {
			raw[k] = x
		}
		raw[field] = v
		cfg, err := douyin.Spec.ParseConfig(raw)
		if err == nil {
			_, err = douyin.New(t.Context(), cfg, nil)
		}
		if !errors.Is(err, sdk.ErrInvalidConfig) {
			t.Errorf("%s = %v: %v, want an invalid_config error", field, v, err)
		}
	}
}
