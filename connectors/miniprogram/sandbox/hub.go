package sandbox

import (
	"net/http"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
)

// ForHub builds a sandbox for the hub's sandbox registry (hub sandbox, hub
// demo): seed and members shape the shared sandboxdata people, so a
// mini-program user's unionid and phone belong to the same person as on the
// other sandboxes. It returns the handler, the test credentials, and a ready
// connection config for the miniprogram connector — every key but api_base,
// which the registry sets to the sandbox's URL. The handler is the *Server,
// so the registry's users can reach Brand() to send events to the hub.
func ForHub(seed uint64, members int) (http.Handler, map[string]string, map[string]any) {
	s := New(Config{Seed: seed, Members: members})
	cfg := s.Config()
	creds := map[string]string{
		"app_id": cfg.AppID, "app_secret": cfg.AppSecret, "event_secret": cfg.EventSecret,
		"open_platform_id": sandboxdata.OpenPlatformID, "brand": cfg.Brand,
	}
	conn := s.ConnectionConfig("")
	delete(conn, "api_base")
	return s, creds, conn
}
