package sandbox

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/channelhub/channelhub/connectors/wechat/wxwire"
)

// WeCom error codes the sandbox answers with (fact sheet §3.1, §3.4 and the
// global code table quoted there).
const (
	codeSystemBusy         = -1
	codeInvalidSecret      = 40001
	codeInvalidCorpID      = 40013
	codeInvalidToken       = 40014
	codeInvalidParam       = 40058 // [L] the code for a bad cursor/limit/list size is not documented in the sheet
	codeInvalidTagID       = 40068
	codeInvalidExternalID  = 40096
	codeTooManyTags        = 40126
	codeTokenMissing       = 41001
	codeCorpIDMissing      = 41002
	codeSecretMissing      = 41004
	codeExternalIDMissing  = 41035
	codeTokenExpired       = 42001
	codeRequireGET         = 43001
	codeRequirePOST        = 43002
	codeEmptyPostData      = 44002
	codeFreqLimit          = 45009
	codeConcurrency        = 45033
	codeBadJSON            = 47001
	codeUserIDNotFound     = 60111 // [L]
	codeNotExternalContact = 84061
)

// errMsg is the errmsg text WeCom sends before its hint suffix. Clients must
// key on errcode; the wording of the [L] codes is the sandbox's.
func errMsg(code int) string {
	switch code {
	case codeSystemBusy:
		return "system busy"
	case codeInvalidSecret:
		return "invalid credential"
	case codeInvalidCorpID:
		return "invalid corpid"
	case codeInvalidToken:
		return "invalid access_token"
	case codeInvalidParam:
		return "invalid Request Parameter"
	case codeInvalidTagID:
		return "invalid tagid"
	case codeInvalidExternalID:
		return "invalid external userid"
	case codeTooManyTags:
		return "tag count exceed limit"
	case codeTokenMissing:
		return "access_token missing"
	case codeCorpIDMissing:
		return "corpid missing"
	case codeSecretMissing:
		return "corpsecret missing"
	case codeExternalIDMissing:
		return "missing external userid"
	case codeTokenExpired:
		return "access_token expired"
	case codeRequireGET:
		return "require GET method"
	case codeRequirePOST:
		return "require POST method"
	case codeEmptyPostData:
		return "empty post data"
	case codeFreqLimit:
		return "api freq out of limit"
	case codeConcurrency:
		return "api concurrent out of limit"
	case codeBadJSON:
		return "Warning: wrong json format."
	case codeUserIDNotFound:
		return "invalid userid"
	case codeNotExternalContact:
		return "not external contact"
	}
	return "errcode " + strconv.Itoa(code)
}

type errorBody struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

const contentType = "application/json; charset=UTF-8"

// writeJSON sends v with HTTP 200, Chinese unescaped.
func writeJSON(w http.ResponseWriter, v any) { wxwire.WriteJSON(w, contentType, v) }

// fail sends WeCom's error answer with its hint suffix.
func (s *Server) fail(w http.ResponseWriter, code int) { s.failMsg(w, code, "") }

func (s *Server) failMsg(w http.ResponseWriter, code int, msg string) {
	if msg == "" {
		msg = errMsg(code)
	}
	writeJSON(w, errorBody{ErrCode: code, ErrMsg: fmt.Sprintf("%s, hint: [%s], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=%d", msg, s.hint(), code)})
}

// hint is shaped like WeCom's: unix time, a counter, a hex word.
func (s *Server) hint() string {
	n := s.ridSeq.Add(1)
	h := wxwire.Mix(s.cfg.Seed ^ n*0x9e3779b97f4a7c15)
	return fmt.Sprintf("%d_%d_%08x", s.now().Unix(), n%100, uint32(h))
}

// okBody is {"errcode":0,"errmsg":"ok"}.
var okBody = errorBody{ErrMsg: "ok"}

// maxBody bounds a request body.
const maxBody = wxwire.MaxBody

// decodeBody reads a POST body into v, answering 44002 for an empty body and
// 47001 for bad JSON (see wxwire.DecodeBody). It reports whether the handler
// may go on.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return wxwire.DecodeBody(w, r, v, s.fail)
}
