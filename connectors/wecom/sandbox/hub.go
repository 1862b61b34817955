package sandbox

import (
	"net/http"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
)

// ForHub builds a sandbox for the hub's sandbox registry (hub sandbox, hub
// demo): seed and members shape the shared sandboxdata people, so a
// customer who is also a WeChat follower carries the same unionid as on the
// wechat sandbox. It returns the handler, the test credentials, and a ready
// connection config for the wecom connector — every key but api_base, which
// the registry sets to the sandbox's URL. The config includes the callback
// token and EncodingAESKey, so callbacks the sandbox seals verify.
func ForHub(seed uint64, members int) (http.Handler, map[string]string, map[string]any) {
	s := New(Config{Seed: seed, Members: members})
	cfg := s.Config()
	creds := map[string]string{
		"corp_id": cfg.CorpID, "corp_secret": cfg.CorpSecret, "token": cfg.Token,
		"encoding_aes_key": cfg.EncodingAESKey, "open_platform_id": sandboxdata.OpenPlatformID,
	}
	conn := map[string]any{
		"corp_id": cfg.CorpID, "corp_secret": cfg.CorpSecret, "token": cfg.Token,
		"encoding_aes_key": cfg.EncodingAESKey, "open_platform_id": sandboxdata.OpenPlatformID,
	}
	return s, creds, conn
}
