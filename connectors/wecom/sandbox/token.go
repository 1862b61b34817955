package sandbox

import (
	"net/http"
	"strconv"
	"time"
)

// tokenAnswer is gettoken's success body.
type tokenAnswer struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// getToken serves GET /cgi-bin/gettoken?corpid=&corpsecret= (fact sheet
// §3.1). Unlike the official account's /cgi-bin/token, a call while the
// current token is valid returns that same token (with its remaining
// lifetime); a new one is issued only once it has expired.
func (s *Server) getToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	corp, secret := q.Get("corpid"), q.Get("corpsecret")
	switch {
	case corp == "":
		s.fail(w, codeCorpIDMissing)
		return
	case corp != s.cfg.CorpID:
		s.fail(w, codeInvalidCorpID)
		return
	case secret == "":
		s.fail(w, codeSecretMissing)
		return
	case secret != s.cfg.CorpSecret:
		s.fail(w, codeInvalidSecret)
		return
	}
	s.mu.Lock()
	now := s.now()
	exp, ok := s.tokens[s.current]
	if !ok || !now.Before(exp) {
		s.tokenSeq++
		s.current = "wecom_" + strconv.Itoa(s.tokenSeq) + "_" + ExternalUserID(s.cfg.Seed^0x70c3, s.tokenSeq)[2:] + ExternalUserID(s.cfg.Seed^0x70c4, s.tokenSeq)[2:]
		exp = now.Add(s.cfg.TokenTTL)
		s.tokens[s.current] = exp
	}
	tok, left := s.current, exp.Sub(now)
	s.mu.Unlock()
	writeJSON(w, tokenAnswer{ErrMsg: "ok", AccessToken: tok, ExpiresIn: int64(left / time.Second)})
}
