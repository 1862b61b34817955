package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	mpsandbox "github.com/channelhub/channelhub/connectors/miniprogram/sandbox"
	"github.com/channelhub/channelhub/hub/config"
	"github.com/channelhub/channelhub/hub/engine"
	"github.com/channelhub/channelhub/hub/plugin"
	"github.com/channelhub/channelhub/hub/secret"
	"github.com/channelhub/channelhub/hub/store"
	"github.com/channelhub/channelhub/hub/store/sqlite"
	"github.com/channelhub/channelhub/mapping"
)

// engineFor runs an engine for a config over a fresh SQLite store in its
// data dir; wrap, when not nil, puts a store of the test's in front of it.
func engineFor(t *testing.T, yaml string, wrap func(store.Store) store.Store) (*engine.Engine, *sqlite.Store) {
	t.Helper()
	c, err := config.Parse([]byte(yaml), "hub.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	box, _ := secret.New(bytes.Repeat([]byte{3}, secret.KeySize))
	st, err := sqlite.Open(t.Context(), filepath.Join(c.DataDir, "hub.db"), box, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := plugin.LoadCatalog(c.PluginsDir)
	if err != nil {
		t.Fatal(err)
	}
	var s store.Store = st
	if wrap != nil {
		s = wrap(st)
	}
	eng := engine.New(c, s, plugin.NewManager(cat, zerolog.Nop(), plugin.Options{}), zerolog.Nop(), engine.Options{})
	t.Cleanup(func() { eng.Shutdown(); st.Close() })
	return eng, st
}

// oneConnection is a hub.yaml for tenant t1 with one connection, id of
// connector with config, and jobs (YAML list items indented for `jobs:`,
// or "" for none).
func oneConnection(t *testing.T, id, connector string, config any, jobs string) string {
	t.Helper()
	conn, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`data_dir: %s
plugins_dir: %s
tenants:
  - id: t1
    connections:
      - id: %s
        connector: %s
        config: %s
`, t.TempDir(), plugins(t), id, connector, conn)
	if jobs != "" {
		yaml += "    jobs:\n" + jobs
	}
	return yaml
}

// send returns a function that sends the request it is given (failing the
// test on err) and returns the answer's status and body; send(t)(build())
// takes a request builder's two results.
func send(t *testing.T) func(*http.Request, error) (int, []byte) {
	return func(req *http.Request, err error) (int, []byte) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}
}

// failingStore fails the next fail ApplyBatch calls, as a full disk would.
type failingStore struct {
	store.Store
	mu   sync.Mutex
	fail int
}

func (s *failingStore) ApplyBatch(ctx context.Context, b store.Batch) (store.BatchResult, error) {
	s.mu.Lock()
	fail := s.fail > 0
	if fail {
		s.fail--
	}
	s.mu.Unlock()
	if fail {
		return store.BatchResult{}, errors.New("disk I/O error")
	}
	return s.Store.ApplyBatch(ctx, b)
}

// An event the hub could not store answers 503; the backend's redelivery
// stores it, with the phone the first delivery exchanged (a phone code is
// good for one exchange only).
func TestWebhookRedeliveredAfterStoreFailureIsStored(t *testing.T) {
	t.Parallel()
	sb := mpsandbox.New(mpsandbox.Config{Members: 20})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	yaml := oneConnection(t, "mini", "miniprogram", sb.ConnectionConfig(srv.URL), "")
	fs := &failingStore{fail: 1}
	eng, st := engineFor(t, yaml, func(s store.Store) store.Store { fs.Store = s; return fs })
	hub := httptest.NewServer(eng.WebhookHandler())
	t.Cleanup(hub.Close)

	u := sb.Users()[3]
	code, _ := sb.IssuePhoneCode(u.OpenID)
	brand := sb.Brand()
	body := brand.Body(brand.PhoneBoundCode(u, code))
	deliver := func() (int, string) {
		t.Helper()
		status, b := send(t)(brand.RequestAt(t.Context(), hub.URL+"/webhooks/t1/mini", body, time.Now()))
		return status, string(b)
	}
	if status, text := deliver(); status != http.StatusServiceUnavailable {
		t.Fatalf("first delivery with the store failing: %d %s, want 503", status, text)
	}
	status, text := deliver()
	if status != http.StatusOK {
		t.Fatalf("redelivery: %d %s, want 200", status, text)
	}
	m, err := st.FindMember(t.Context(), "t1", mapping.Identity{Type: mapping.IDMiniprogramOpenID, Scope: sb.Config().AppID, Value: u.OpenID})
	if err != nil {
		t.Fatalf("the redelivered event was not stored: %v", err)
	}
	byPhone, err := st.FindMember(t.Context(), "t1", mapping.Identity{Type: mapping.IDPhone, Value: u.Phone})
	if err != nil || byPhone.MemberID != m.MemberID {
		t.Fatalf("the exchanged phone was not stored with the member: %v", err)
	}
	// A pushed stream never ends: it is receiving, not running.
	states, err := st.ListStreamStates(t.Context(), "t1")
	if err != nil || len(states) == 0 {
		t.Fatalf("stream states %+v, %v", states, err)
	}
	for _, s := range states {
		if s.Job != "webhook:mini" || s.Status != store.StatusReceiving {
			t.Errorf("stream %s/%s is %q, want %s", s.Job, s.Stream, s.Status, store.StatusReceiving)
		}
	}
}
