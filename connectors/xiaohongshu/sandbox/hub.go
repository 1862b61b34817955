package sandbox

import "net/http"

// ForHub builds a sandbox for the hub's sandbox registry (connectors/
// sandboxes): seed and members shape the seeded people (sandboxdata.Persons,
// 0 meaning the defaults), whose Xiaohongshu accounts buy the shop's orders.
// It issues the shop a token pair, as if the merchant had just authorized the
// app, and returns the handler, the test credentials and a ready connection
// config for the xiaohongshu connector: every field it needs but api_base,
// which the caller sets to the URL it serves the handler on.
//
// The keys are the connector's config field names (app_id, app_secret,
// seller_id, refresh_token); they are spelt out here because an emulator
// does not import the connector it is used to test.
func ForHub(seed uint64, members int) (http.Handler, map[string]string, map[string]any) {
	s := New(Config{Seed: seed, Members: members})
	cfg := s.Config()
	tok := s.IssueToken()
	creds := map[string]string{
		"app_id":        cfg.AppID,
		"app_secret":    cfg.AppSecret,
		"seller_id":     cfg.SellerID,
		"refresh_token": tok.RefreshToken,
	}
	conn := make(map[string]any, len(creds))
	for k, v := range creds {
		conn[k] = v
	}
	return s, creds, conn
}
