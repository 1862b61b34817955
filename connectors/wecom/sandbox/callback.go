package sandbox

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/channelhub/channelhub/connectors/sandboxdata"
	"github.com/channelhub/channelhub/connectors/wechat/wxcrypt"
	"github.com/channelhub/channelhub/connectors/wechat/wxwire"
)

// Change types of change_external_contact events (fact sheet §3.3).
const (
	ChangeAdd        = "add_external_contact"
	ChangeAddHalf    = "add_half_external_contact"
	ChangeEdit       = "edit_external_contact"
	ChangeDel        = "del_external_contact"
	ChangeDelFollow  = "del_follow_user"
	ChangeTransferKO = "transfer_fail"
)

// Event is one callback event. Event defaults to change_external_contact;
// At (zero: the sandbox clock) is both CreateTime and the signed timestamp.
type Event struct {
	Event          string
	ChangeType     string
	UserID         string
	ExternalUserID string
	State          string
	WelcomeCode    string
	Source         string
	FailReason     string
	At             time.Time
}

// eventXML is the decrypted event as WeCom sends it: fields at top level,
// strings in CDATA.
type eventXML struct {
	XMLName        xml.Name `xml:"xml"`
	ToUserName     cdata    `xml:"ToUserName"`
	FromUserName   cdata    `xml:"FromUserName"`
	CreateTime     int64    `xml:"CreateTime"`
	MsgType        cdata    `xml:"MsgType"`
	Event          cdata    `xml:"Event"`
	ChangeType     cdata    `xml:"ChangeType"`
	UserID         *cdata   `xml:"UserID,omitempty"`
	ExternalUserID *cdata   `xml:"ExternalUserID,omitempty"`
	State          *cdata   `xml:"State,omitempty"`
	WelcomeCode    *cdata   `xml:"WelcomeCode,omitempty"`
	Source         *cdata   `xml:"Source,omitempty"`
	FailReason     *cdata   `xml:"FailReason,omitempty"`
}

type cdata struct {
	Value string `xml:",cdata"`
}

func opt(s string) *cdata {
	if s == "" {
		return nil
	}
	return &cdata{s}
}

// EventXML renders ev as the plaintext WeCom encrypts.
func (s *Server) EventXML(ev Event) []byte {
	if ev.Event == "" {
		ev.Event = "change_external_contact"
	}
	at := ev.At
	if at.IsZero() {
		at = s.now()
	}
	b, _ := xml.Marshal(eventXML{
		ToUserName: cdata{s.cfg.CorpID}, FromUserName: cdata{"sys"}, CreateTime: at.Unix(),
		MsgType: cdata{"event"}, Event: cdata{ev.Event}, ChangeType: cdata{ev.ChangeType},
		UserID: opt(ev.UserID), ExternalUserID: opt(ev.ExternalUserID), State: opt(ev.State),
		WelcomeCode: opt(ev.WelcomeCode), Source: opt(ev.Source), FailReason: opt(ev.FailReason),
	})
	return b
}

// crypter seals callbacks with the app's Token and EncodingAESKey for the
// corp.
func (s *Server) crypter() (*wxcrypt.Crypter, error) {
	c, err := wxcrypt.New(s.cfg.Token, s.cfg.EncodingAESKey, s.cfg.CorpID)
	if err != nil {
		return nil, fmt.Errorf("sandbox: callback settings: %w", err)
	}
	return c, nil
}

// randoms returns 16 random bytes and a nonce from the sandbox's seeded
// generator.
func (s *Server) randoms() ([]byte, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := make([]byte, 16)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[s.rng.IntN(62)]
	}
	return b, strconv.FormatUint(1_000_000_000+s.rng.Uint64N(9_000_000_000), 10)
}

// Sealed is one encrypted callback: what goes into the query and the body.
type Sealed struct {
	MsgSignature, Timestamp, Nonce string
	Body                           []byte
}

// Seal encrypts plaintext as WeCom does: an <xml> envelope with ToUserName
// (the corp id), Encrypt and AgentID, signed with msg_signature over token,
// timestamp, nonce and Encrypt.
func (s *Server) Seal(plaintext []byte, at time.Time) (Sealed, error) {
	c, err := s.crypter()
	if err != nil {
		return Sealed{}, err
	}
	random, nonce := s.randoms()
	enc, err := c.Encrypt(plaintext, random)
	if err != nil {
		return Sealed{}, fmt.Errorf("sandbox: seal: %w", err)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	env := wxcrypt.Envelope{ToUserName: s.cfg.CorpID, Encrypt: enc, AgentID: DefaultAgentID}
	return Sealed{MsgSignature: c.Sign(ts, nonce, enc), Timestamp: ts, Nonce: nonce, Body: env.Marshal()}, nil
}

// CallbackRequest builds the POST WeCom sends to the app's callback URL
// target for ev: query msg_signature, timestamp and nonce; body the
// encrypted envelope. Send it with any client; the receiver should answer
// HTTP 200 with "success" or an empty body.
func (s *Server) CallbackRequest(ctx context.Context, target string, ev Event) (*http.Request, error) {
	at := ev.At
	if at.IsZero() {
		at = s.now()
		ev.At = at
	}
	sealed, err := s.Seal(s.EventXML(ev), at)
	if err != nil {
		return nil, err
	}
	u, err := withQuery(target, url.Values{"msg_signature": {sealed.MsgSignature}, "timestamp": {sealed.Timestamp}, "nonce": {sealed.Nonce}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(sealed.Body))
	if err != nil {
		return nil, fmt.Errorf("sandbox: callback request: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml")
	return req, nil
}

// VerifyURLRequest builds the GET WeCom sends when an admin saves the
// callback URL: an encrypted echostr the receiver must decrypt and answer
// (plaintext only, no quotes or newline). It returns the request and the
// plaintext expected back.
func (s *Server) VerifyURLRequest(ctx context.Context, target string) (*http.Request, string, error) {
	c, err := s.crypter()
	if err != nil {
		return nil, "", err
	}
	random, nonce := s.randoms()
	echo := strconv.FormatUint(wxwire.Mix(s.cfg.Seed^uint64(s.now().UnixNano())), 10)
	enc, err := c.Encrypt([]byte(echo), random)
	if err != nil {
		return nil, "", fmt.Errorf("sandbox: echostr: %w", err)
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	u, err := withQuery(target, url.Values{"msg_signature": {c.Sign(ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}, "echostr": {enc}})
	if err != nil {
		return nil, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", fmt.Errorf("sandbox: verify request: %w", err)
	}
	return req, echo, nil
}

func withQuery(target string, q url.Values) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("sandbox: callback target: %w", err)
	}
	uq := u.Query()
	for k, v := range q {
		uq[k] = v
	}
	u.RawQuery = uq.Encode()
	return u.String(), nil
}

// Push delivers ev to target as WeCom does: it waits CallbackTimeout for an
// HTTP 200 and tries again, up to 3 attempts in all, with the same message.
// It returns the body of the answer that was accepted.
func (s *Server) Push(ctx context.Context, client *http.Client, target string, ev Event) (string, error) {
	if ev.At.IsZero() {
		ev.At = s.now()
	}
	var last error
	for range 3 {
		req, err := s.CallbackRequest(ctx, target, ev)
		if err != nil {
			return "", err
		}
		actx, cancel := context.WithTimeout(ctx, s.cfg.CallbackTimeout)
		resp, err := client.Do(req.WithContext(actx))
		if err == nil {
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			cancel()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(body), nil
			}
			last = fmt.Errorf("sandbox: push answered HTTP %d", resp.StatusCode)
		} else {
			cancel()
			last = fmt.Errorf("sandbox: push: %w", err)
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
	return "", errors.Join(errors.New("sandbox: push not accepted after 3 attempts"), last)
}

// AddCustomer makes a new person (numbered after Config.Members, so the
// person agrees with sandboxdata) add staff member userid now, and returns
// the add_external_contact event WeCom sends for it. The customer carries
// the person's unionid.
func (s *Server) AddCustomer(userid string) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasCustomerStaff(userid) {
		return Event{}, fmt.Errorf("sandbox: %q is no staff member with customer contact", userid)
	}
	now := s.now()
	idx := s.nextPerson
	s.nextPerson++
	c := &customer{ext: ExternalUserID(s.cfg.Seed, idx), name: "新客户" + strconv.Itoa(idx), person: idx,
		unionid: "o6_b" + sandboxdata.ID(s.cfg.Seed, "unionid", idx, 24)}
	s.customers = append(s.customers, c)
	s.byExt[c.ext] = c
	s.link(&relation{userid: userid, cust: c, createtime: now.Unix(), addWay: 1, state: "sandbox", operUserID: userid})
	return Event{ChangeType: ChangeAdd, UserID: userid, ExternalUserID: c.ext, State: "sandbox", WelcomeCode: "WELCOME" + strconv.Itoa(idx), At: now}, nil
}

// AddFollow makes existing customer ext add staff member userid too.
func (s *Server) AddFollow(userid, ext string) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.byExt[ext]
	switch {
	case c == nil:
		return Event{}, fmt.Errorf("sandbox: no customer %q", ext)
	case !s.hasCustomerStaff(userid):
		return Event{}, fmt.Errorf("sandbox: %q is no staff member with customer contact", userid)
	case c.follow(userid) != nil:
		return Event{}, fmt.Errorf("sandbox: %s follows %s already", userid, ext)
	}
	now := s.now()
	s.link(&relation{userid: userid, cust: c, createtime: now.Unix(), addWay: 6, operUserID: userid})
	return Event{ChangeType: ChangeAdd, UserID: userid, ExternalUserID: ext, At: now}, nil
}

// EditRemark sets the remark userid keeps on customer ext and returns the
// edit_external_contact event.
func (s *Server) EditRemark(userid, ext, remark string) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.relation(userid, ext)
	if err != nil {
		return Event{}, err
	}
	r.remark = remark
	return Event{ChangeType: ChangeEdit, UserID: userid, ExternalUserID: ext, At: s.now()}, nil
}

// RemoveCustomer ends the relation of staff member userid and customer ext
// and returns the event: del_external_contact when the staff member removed
// the customer (byCustomer false), del_follow_user when the customer removed
// the staff member. The sandbox treats both as the relation ending
// (the live API may keep a one-sided relation after del_follow_user [L]).
func (s *Server) RemoveCustomer(userid, ext string, byCustomer bool) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.relation(userid, ext)
	if err != nil {
		return Event{}, err
	}
	s.unlink(r)
	ev := Event{ChangeType: ChangeDel, UserID: userid, ExternalUserID: ext, At: s.now()}
	if byCustomer {
		ev.ChangeType = ChangeDelFollow
	}
	return ev, nil
}

// relation finds a live relation. Guarded by mu.
func (s *Server) relation(userid, ext string) (*relation, error) {
	c := s.byExt[ext]
	if c == nil {
		return nil, fmt.Errorf("sandbox: no customer %q", ext)
	}
	r := c.follow(userid)
	if r == nil {
		return nil, fmt.Errorf("sandbox: %s does not follow %s", userid, ext)
	}
	return r, nil
}

// hasCustomerStaff reports whether userid is a staff member with customer
// contact. Guarded by mu.
func (s *Server) hasCustomerStaff(userid string) bool {
	for _, u := range s.staff {
		if u == userid {
			return true
		}
	}
	return false
}
