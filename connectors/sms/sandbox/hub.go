package sandbox

import "net/http"

// HubReplies is how many uplink replies a ForHub sandbox starts with.
const HubReplies = 8

// ForHub builds a sandbox for the hub's sandbox registry (hub sandbox, hub
// demo) emulating provider ("aliyun" or "tencent"), seeded with HubReplies
// replies from the shared sandboxdata people, so opt-outs land on members the
// other sandboxes know. It returns the handler, the test credentials, and a
// ready connection config for the sms connector — every key but endpoint,
// which the registry sets to the sandbox's host:port (scheme is "http").
// An unknown provider gives a nil handler.
func ForHub(provider string, seed uint64) (http.Handler, map[string]string, map[string]any) {
	p := Provider(provider)
	if p != Aliyun && p != Tencent {
		return nil, nil, nil
	}
	s := New(Config{Provider: p, Seed: seed, Replies: HubReplies})
	cfg := s.Config()
	template := cfg.Templates[0].ID
	creds := map[string]string{
		"access_key_id": cfg.AccessKeyID, "access_key_secret": cfg.AccessKeySecret,
		"sign_name": cfg.SignNames[0], "template": template,
	}
	conn := map[string]any{
		"provider": provider, "access_key_id": cfg.AccessKeyID, "access_key_secret": cfg.AccessKeySecret,
		"sign_name": cfg.SignNames[0], "template": template, "scheme": "http",
	}
	if p == Tencent {
		creds["sdk_app_id"] = cfg.SdkAppID
		conn["sdk_app_id"] = cfg.SdkAppID
	}
	return s, creds, conn
}
