package wxcrypt_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/channelhub/channelhub/connectors/wechat/wxcrypt"
)

// Vectors from the official WXBizMsgCrypt samples, as recomputed in
// shared/platforms/wechat.md §8.
const (
	oaKey     = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	oaEncrypt = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
	oaPlain   = "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>"

	wecomCorp    = "wx5823bf96d3bd56c7"
	wecomToken   = "QDG6eK"
	wecomKey     = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	wecomEcho    = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	wecomEncrypt = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)

func mustNew(t *testing.T, token, key, receiver string) *wxcrypt.Crypter {
	t.Helper()
	c, err := wxcrypt.New(token, key, receiver)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSignatureVector(t *testing.T) {
	t.Parallel()
	if got := wxcrypt.Signature("c", "a", "b"); got != "a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Fatalf("sha1 of sorted a,b,c = %s", got)
	}
}

func TestOfficialAccountSafeModeVector(t *testing.T) {
	t.Parallel()
	c := mustNew(t, "spamtest", oaKey, "wx2c2769f8efd9abc2")
	if got := c.Sign("1409735669", "1320562132", oaEncrypt); got != "5d197aaffba7e9b25a30732f161a50dee96bd5fa" {
		t.Fatalf("msg_signature = %s", got)
	}
	msg, err := c.Open("5d197aaffba7e9b25a30732f161a50dee96bd5fa", "1409735669", "1320562132", oaEncrypt)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg) != oaPlain {
		t.Fatalf("plaintext = %q", msg)
	}
	// The same payload for another app is refused after decryption.
	other := mustNew(t, "spamtest", oaKey, "wxb11529c136998cb6")
	if _, err := other.Open("5d197aaffba7e9b25a30732f161a50dee96bd5fa", "1409735669", "1320562132", oaEncrypt); !errors.Is(err, wxcrypt.ErrReceiver) {
		t.Fatalf("other appid: %v, want ErrReceiver", err)
	}
}

func TestOfficialAccountEncryptVector(t *testing.T) {
	t.Parallel()
	c := mustNew(t, "any", oaKey, "wxb11529c136998cb6")
	got, err := c.Encrypt([]byte("我是中文abcd123"), []byte("aaaabbbbccccdddd"))
	if err != nil {
		t.Fatal(err)
	}
	if got != "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==" {
		t.Fatalf("encrypt = %s", got)
	}
}

func TestZeroKeyVector(t *testing.T) {
	t.Parallel()
	c := mustNew(t, "AAAAA", strings.Repeat("A", 43), "wx134c8103faa5a59e")
	enc, err := c.Encrypt([]byte("<xml><demo_resp>[CDATA[good luck]]</demo_resp></xml>"), []byte("999951349e8ee746"))
	if err != nil {
		t.Fatal(err)
	}
	if enc != "hE8R6mGXHkJJjU72KxzKUd1GEkKJaEZq7vRL8XgK3o+00k8JGq6+pZJUIlTSyhsX+bxIBQ72g3GyvDdIZcr6+3HAZbSvPT9t/o11MI7d6WELwqrGd7jMnV0zv3Zc9Nq7" {
		t.Fatalf("encrypt = %s", enc)
	}
	if sig := c.Sign("1713424427", "415670741", enc); sig != "03e0812039325c2712ef5f0f980fd14c70d6e307" {
		t.Fatalf("msg_signature = %s", sig)
	}
}

func TestWeComVectors(t *testing.T) {
	t.Parallel()
	c := mustNew(t, wecomToken, wecomKey, wecomCorp)
	echo, err := c.Open("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", wecomEcho)
	if err != nil || string(echo) != "1616140317555161061" {
		t.Fatalf("URL verification: %q, %v", echo, err)
	}
	msg, err := c.Open("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", wecomEncrypt)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mycreate", "<Content><![CDATA[hello]]></Content>", "4561255354251345929", "218"} {
		if !bytes.Contains(msg, []byte(want)) {
			t.Fatalf("message %q lacks %q", msg, want)
		}
	}
	_, receiver, err := c.Decrypt(wecomEncrypt)
	if err != nil || receiver != wecomCorp {
		t.Fatalf("receiver id = %q, %v", receiver, err)
	}
}

func TestSignatureIsCheckedBeforeDecrypting(t *testing.T) {
	t.Parallel()
	c := mustNew(t, wecomToken, wecomKey, wecomCorp)
	cases := map[string][4]string{
		"forged signature":  {"0000000000000000000000000000000000000000", "1409659813", "1372623149", wecomEncrypt},
		"changed timestamp": {"477715d11cdb4164915debcba66cb864d751f3e6", "1409659814", "1372623149", wecomEncrypt},
		"changed nonce":     {"477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623148", wecomEncrypt},
		"changed payload":   {"477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", "A" + wecomEncrypt[1:]},
		// Garbage that does not decrypt still fails on the signature first.
		"garbage payload": {"477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", "%%%"},
	}
	for name, in := range cases {
		if _, err := c.Open(in[0], in[1], in[2], in[3]); !errors.Is(err, wxcrypt.ErrSignature) {
			t.Errorf("%s: %v, want ErrSignature", name, err)
		}
	}
	wrongToken := mustNew(t, "other", wecomKey, wecomCorp)
	if _, err := wrongToken.Open("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", wecomEncrypt); !errors.Is(err, wxcrypt.ErrSignature) {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestWrongKeyAndMalformedPayloads(t *testing.T) {
	t.Parallel()
	// A correctly signed payload under another key fails to decrypt.
	wrongKey := mustNew(t, wecomToken, oaKey, wecomCorp)
	if _, err := wrongKey.Open("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", wecomEncrypt); !errors.Is(err, wxcrypt.ErrDecrypt) && !errors.Is(err, wxcrypt.ErrReceiver) {
		t.Fatalf("wrong key: %v", err)
	}
	c := mustNew(t, "tok", wecomKey, wecomCorp)
	for name, enc := range map[string]string{
		"not base64":      "!!!",
		"empty":           "",
		"partial block":   base64.StdEncoding.EncodeToString(make([]byte, 20)),
		"zeros (bad pad)": base64.StdEncoding.EncodeToString(make([]byte, 32)),
	} {
		sig := c.Sign("1", "2", enc)
		if _, err := c.Open(sig, "1", "2", enc); !errors.Is(err, wxcrypt.ErrDecrypt) {
			t.Errorf("%s: %v, want ErrDecrypt", name, err)
		}
	}
}

func TestRoundTripAndLength(t *testing.T) {
	t.Parallel()
	c := mustNew(t, "tok", wecomKey, "ww123")
	for _, n := range []int{0, 1, 11, 12, 43, 44, 1000} {
		msg := bytes.Repeat([]byte{'x'}, n)
		enc, err := c.Encrypt(msg, bytes.Repeat([]byte{7}, 16))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(enc)
		if len(raw)%32 != 0 {
			t.Fatalf("ciphertext of %d bytes is not whole 32-byte blocks", len(raw))
		}
		got, err := c.Open(c.Sign("1", "n", enc), "1", "n", enc)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("round trip of %d bytes: %v", n, err)
		}
	}
	if _, err := c.Encrypt(nil, []byte("short")); err == nil {
		t.Fatal("short random accepted")
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"", "short", strings.Repeat("A", 44), strings.Repeat("*", 43)} {
		if _, err := wxcrypt.New("t", key, ""); err == nil {
			t.Errorf("key %q accepted", key)
		} else if key != "" && strings.Contains(err.Error(), key) {
			t.Errorf("error %q shows the key", err)
		}
	}
	if _, err := wxcrypt.New("", wecomKey, ""); err == nil {
		t.Fatal("empty token accepted")
	}
}

func TestCheckTimestamp(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	for ts, ok := range map[string]bool{
		"1700000000": true, "1699999701": true, "1700000299": true,
		"1699999699": false, "1700000301": false, "": false, "abc": false, "-5": false,
	} {
		err := wxcrypt.CheckTimestamp(ts, now, 5*time.Minute)
		if (err == nil) != ok || (err != nil && !errors.Is(err, wxcrypt.ErrTimestamp)) {
			t.Errorf("timestamp %q: %v", ts, err)
		}
	}
	if err := wxcrypt.CheckTimestamp("1", now, 0); err != nil {
		t.Fatalf("skew 0 checks distance: %v", err)
	}
}

func TestEnvelope(t *testing.T) {
	t.Parallel()
	e := wxcrypt.Envelope{ToUserName: wecomCorp, Encrypt: wecomEncrypt, AgentID: "218"}
	got, err := wxcrypt.ParseEnvelope(e.Marshal())
	if err != nil || got.Encrypt != wecomEncrypt || got.ToUserName != wecomCorp || got.AgentID != "218" {
		t.Fatalf("envelope round trip: %+v, %v", got, err)
	}
	for _, body := range []string{"", "not xml", "<xml><ToUserName>x</ToUserName></xml>", "<xml><Encrypt>  </Encrypt></xml>"} {
		if _, err := wxcrypt.ParseEnvelope([]byte(body)); err == nil {
			t.Errorf("envelope %q accepted", body)
		}
	}
}
