package sandbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/channelhub/channelhub/connectors/wechat/wxcrypt"
	"github.com/channelhub/channelhub/connectors/wechat/wxwire"
)

// PushMode is the account's message encryption mode (消息加解密方式, fact
// sheet §2.6).
type PushMode int

// Push modes.
const (
	// PlainMode (明文模式): XML in the clear, signature over token, timestamp
	// and nonce.
	PlainMode PushMode = iota
	// CompatibleMode (兼容模式): the plaintext fields and an Encrypt copy;
	// encrypt_type=aes and msg_signature in the query.
	CompatibleMode
	// SafeMode (安全模式): only ToUserName and Encrypt.
	SafeMode
)

// Push is one push event. At (zero: the sandbox clock) is both CreateTime
// and the signed timestamp, so a test can make a stale one.
type Push struct {
	OpenID string
	// Event is "subscribe", "unsubscribe", "SCAN", …
	Event string
	Mode  PushMode
	At    time.Time
}

// originalID is the account's original id (gh_…), ToUserName of pushes.
func (s *Server) originalID() string {
	id := s.cfg.AppID
	return "gh_" + id[max(0, len(id)-12):]
}

// EventXML renders a push's message as WeChat sends it: fields in CDATA,
// each on its own line.
func (s *Server) EventXML(p Push) []byte {
	at := p.At
	if at.IsZero() {
		at = s.now()
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<xml><ToUserName><![CDATA[%s]]></ToUserName>\n<FromUserName><![CDATA[%s]]></FromUserName>\n<CreateTime>%d</CreateTime>\n<MsgType><![CDATA[event]]></MsgType>\n<Event><![CDATA[%s]]></Event>\n",
		s.originalID(), p.OpenID, at.Unix(), p.Event)
	if p.Event == "subscribe" || p.Event == "unsubscribe" {
		b.WriteString("<EventKey><![CDATA[]]></EventKey>\n")
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

// randoms returns 16 random bytes and a nonce for the next push.
func (s *Server) randoms() ([]byte, string) {
	n := s.pushSeq.Add(1)
	h1, h2 := wxwire.Mix(s.cfg.Seed^n*0x5bd1e995), wxwire.Mix(s.cfg.Seed^n*0x27d4eb2d)
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b[:8], h1)
	binary.BigEndian.PutUint64(b[8:], h2)
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return b, strconv.FormatUint(1_000_000_000+wxwire.Mix(h1^h2)%9_000_000_000, 10)
}

// EventRequest builds the POST WeChat sends to the account's server URL
// target for p, signed (and encrypted) as the account's mode says: query
// signature, timestamp, nonce and openid; in compatible and safe mode also
// encrypt_type=aes and msg_signature, with the appid inside the encrypted
// payload.
func (s *Server) EventRequest(ctx context.Context, target string, p Push) (*http.Request, error) {
	if p.At.IsZero() {
		p.At = s.now()
	}
	msg := s.EventXML(p)
	random, nonce := s.randoms()
	ts := strconv.FormatInt(p.At.Unix(), 10)
	q := url.Values{"signature": {wxcrypt.Signature(s.cfg.PushToken, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "openid": {p.OpenID}}
	body := msg
	if p.Mode != PlainMode {
		c, err := wxcrypt.New(s.cfg.PushToken, s.cfg.EncodingAESKey, s.cfg.AppID)
		if err != nil {
			return nil, fmt.Errorf("sandbox: push settings: %w", err)
		}
		enc, err := c.Encrypt(msg, random)
		if err != nil {
			return nil, fmt.Errorf("sandbox: push: %w", err)
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", c.Sign(ts, nonce, enc))
		if p.Mode == SafeMode {
			body = wxcrypt.Envelope{ToUserName: s.originalID(), Encrypt: enc}.Marshal()
		} else {
			// Compatible mode: the plaintext fields plus Encrypt.
			body = append(bytes.TrimSuffix(msg, []byte("</xml>")), []byte("<Encrypt><![CDATA["+enc+"]]></Encrypt>\n</xml>")...)
		}
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("sandbox: push target: %w", err)
	}
	uq := u.Query()
	for k, v := range q {
		uq[k] = v
	}
	u.RawQuery = uq.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("sandbox: push request: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml")
	return req, nil
}

// VerifyURLRequest builds the GET WeChat sends when the server URL is
// saved: signature over token, timestamp and nonce, and an echostr the
// receiver must answer verbatim. It returns the request and the echostr.
func (s *Server) VerifyURLRequest(ctx context.Context, target string) (*http.Request, string, error) {
	_, nonce := s.randoms()
	ts := strconv.FormatInt(s.now().Unix(), 10)
	echo := strconv.FormatUint(wxwire.Mix(s.cfg.Seed^s.pushSeq.Add(1)), 10)
	u, err := url.Parse(target)
	if err != nil {
		return nil, "", fmt.Errorf("sandbox: push target: %w", err)
	}
	q := u.Query()
	q.Set("signature", wxcrypt.Signature(s.cfg.PushToken, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	q.Set("echostr", echo)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("sandbox: verify request: %w", err)
	}
	return req, echo, nil
}
