package sandbox_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/sms/sandbox"
)

func TestForHub(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"aliyun", "tencent"} {
		h, creds, conn := sandbox.ForHub(p, 7)
		s, ok := h.(*sandbox.Server)
		if !ok {
			t.Fatalf("%s: handler is %T", p, h)
		}
		cfg := s.Config()
		if creds["access_key_id"] != cfg.AccessKeyID || creds["access_key_secret"] != cfg.AccessKeySecret || creds["sign_name"] == "" || creds["template"] == "" {
			t.Fatalf("%s: credentials %v", p, creds)
		}
		if conn["provider"] != p || conn["scheme"] != "http" {
			t.Fatalf("%s: connection %v", p, conn)
		}
		if _, ok := conn["endpoint"]; ok {
			t.Fatalf("%s: the connection sets endpoint; the registry does", p)
		}
		if p == "tencent" && (creds["sdk_app_id"] == "" || conn["sdk_app_id"] != cfg.SdkAppID) {
			t.Fatalf("tencent: no sdk_app_id in %v / %v", creds, conn)
		}
		if len(s.PendingReplies()) != sandbox.HubReplies {
			t.Fatalf("%s: %d seeded replies", p, len(s.PendingReplies()))
		}
	}
	if h, _, _ := sandbox.ForHub("sendgrid", 1); h != nil {
		t.Fatal("an unknown provider gave a sandbox")
	}
}

// signedACS3 builds a QuerySmsSign request signed as the SDK signs it.
func signedACS3(t *testing.T, s *sandbox.Server, base, nonce string, at time.Time) *http.Request {
	t.Helper()
	cfg := s.Config()
	q := url.Values{"SignName": {cfg.SignNames[0]}}
	req, err := http.NewRequest(http.MethodPost, base+"/?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	empty := sha256.Sum256(nil)
	h := map[string]string{
		"host": req.URL.Host, "x-acs-action": "QuerySmsSign", "x-acs-version": sandbox.AliyunVersion,
		"x-acs-date": at.UTC().Format("2006-01-02T15:04:05Z"), "x-acs-signature-nonce": nonce,
		"x-acs-content-sha256": hex.EncodeToString(empty[:]),
	}
	names := []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}
	for _, n := range names[1:] {
		req.Header.Set(n, h[n])
	}
	sig := sandbox.SignACS3(cfg.AccessKeySecret, sandbox.ACS3Request{Method: "POST", Path: "/", Query: q, Headers: h, SignedHeaders: names, PayloadHash: h["x-acs-content-sha256"]})
	req.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential="+cfg.AccessKeyID+",SignedHeaders="+strings.Join(names, ";")+",Signature="+sig)
	return req
}

func code(t *testing.T, resp *http.Response) (int, string) {
	t.Helper()
	defer resp.Body.Close()
	var body struct{ Code string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body.Code
}

// The Alibaba emulator refuses a reused nonce and a stale timestamp as the
// gateway does (HTTP 400), and accepts a fresh signed request.
func TestAliyunFreshness(t *testing.T) {
	t.Parallel()
	s := sandbox.New(sandbox.Config{Provider: sandbox.Aliyun})
	srv := httptest.NewServer(s)
	defer srv.Close()
	do := func(req *http.Request) (int, string) {
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return code(t, resp)
	}
	if st, c := do(signedACS3(t, s, srv.URL, "nonce-1", time.Now())); st != 200 || c != "OK" {
		t.Fatalf("fresh request: %d %s", st, c)
	}
	if st, c := do(signedACS3(t, s, srv.URL, "nonce-1", time.Now())); st != 400 || c != sandbox.AliyunNonceUsed {
		t.Fatalf("reused nonce: %d %s", st, c)
	}
	if st, c := do(signedACS3(t, s, srv.URL, "nonce-2", time.Now().Add(-20*time.Minute))); st != 400 || c != sandbox.AliyunTimestampExpired {
		t.Fatalf("stale timestamp: %d %s", st, c)
	}
	req := signedACS3(t, s, srv.URL, "nonce-3", time.Now())
	req.Header.Set("x-acs-action", "SendSms") // signed header changed after signing
	if st, c := do(req); st != 400 || c != sandbox.AliyunSignatureDoesNotMatch {
		t.Fatalf("tampered request: %d %s", st, c)
	}
}
