package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/channelhub/channelhub/connectors/wechat/wxwire"
)

// phoneCode is a code from the getPhoneNumber button.
type phoneCode struct {
	phone   string // E.164
	expires time.Time
	used    bool
}

// IssuePhoneCode plays the getPhoneNumber button for the user with openid:
// it returns a code that getuserphonenumber exchanges once, within
// PhoneCodeTTL, for the user's phone.
func (s *Server) IssuePhoneCode(openid string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byOpenID[openid]
	if !ok {
		return "", false
	}
	return s.issueCode(s.users[i].Phone), true
}

// IssuePhoneCodeFor returns a code for any E.164 number (a user who binds a
// number the seeded data does not know).
func (s *Server) IssuePhoneCodeFor(e164 string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueCode(e164)
}

func (s *Server) issueCode(phone string) string {
	s.codeSeq++
	code := fmt.Sprintf("%016x%016x", wxwire.Mix(s.cfg.Seed^uint64(s.codeSeq)<<20), wxwire.Mix(uint64(s.codeSeq)))
	s.codes[code] = &phoneCode{phone: phone, expires: s.now().Add(PhoneCodeTTL)}
	return code
}

type phoneInfo struct {
	PhoneNumber     string    `json:"phoneNumber"`
	PurePhoneNumber string    `json:"purePhoneNumber"`
	CountryCode     string    `json:"countryCode"`
	Watermark       watermark `json:"watermark"`
}

type watermark struct {
	Timestamp int64  `json:"timestamp"`
	AppID     string `json:"appid"`
}

// phoneNumber serves POST /wxa/business/getuserphonenumber. A mainland
// number comes without its country code in phoneNumber, as WeChat sends it;
// countryCode is the string "86" (fact sheet §4.1).
func (s *Server) phoneNumber(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code   string `json:"code"`
		OpenID string `json:"openid"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	now := s.now()
	c := s.codes[req.Code]
	if c == nil || c.used || !now.Before(c.expires) {
		s.mu.Unlock()
		s.fail(w, CodeInvalidCode, "")
		return
	}
	c.used = true
	s.mu.Unlock()
	cc, pure := "86", strings.TrimPrefix(c.phone, "+86")
	full := pure
	if !strings.HasPrefix(c.phone, "+86") {
		// Not mainland: +CC then the number; the sandbox takes the first two
		// digits as the country code, which holds for the numbers tests use.
		cc, pure = c.phone[1:3], c.phone[3:]
		full = c.phone
	}
	writeJSON(w, struct {
		ErrCode   int       `json:"errcode"`
		ErrMsg    string    `json:"errmsg"`
		PhoneInfo phoneInfo `json:"phone_info"`
	}{ErrMsg: "ok", PhoneInfo: phoneInfo{PhoneNumber: full, PurePhoneNumber: pure, CountryCode: cc,
		Watermark: watermark{Timestamp: now.Unix(), AppID: s.cfg.AppID}}})
}
