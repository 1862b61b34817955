package sandbox

import (
	"net/http"
	"strconv"

	"github.com/channelhub/channelhub/connectors/wechat/wxwire"
)

// WeChat error codes the sandbox answers with (fact sheet §2.1, §2.2, §4.1).
const (
	CodeSystemBusy        = -1
	CodeInvalidCredential = 40001 // token revoked (RevokeTokens)
	CodeInvalidGrantType  = 40002
	CodeInvalidAppID      = 40013
	CodeInvalidToken      = 40014 // token never issued
	CodeInvalidCode       = 40029 // phone code unknown, expired or used
	CodeInvalidSecret     = 40125
	CodeTokenMissing      = 41001
	CodeAppIDMissing      = 41002
	CodeSecretMissing     = 41004
	CodeTokenExpired      = 42001
	CodeRequirePOST       = 43002
	CodeEmptyPostData     = 44002
	CodeDailyQuota        = 45009
	CodeMinuteQuota       = 45011
	CodeBadJSON           = 47001
)

// errMsg is the errmsg WeChat sends with code, without the " rid: …" suffix.
// The text for 40029 on getuserphonenumber is "invalid code" in public
// answers; the others follow the fact sheet.
func errMsg(code int) string {
	switch code {
	case CodeSystemBusy:
		return "system error"
	case CodeInvalidCredential:
		return "invalid credential, access_token is invalid or not latest"
	case CodeInvalidGrantType:
		return "invalid grant_type"
	case CodeInvalidAppID:
		return "invalid appid"
	case CodeInvalidToken:
		return "invalid access_token"
	case CodeInvalidCode:
		return "invalid code"
	case CodeInvalidSecret:
		return "invalid appsecret"
	case CodeTokenMissing:
		return "access_token missing"
	case CodeAppIDMissing:
		return "appid missing"
	case CodeSecretMissing:
		return "appsecret missing"
	case CodeTokenExpired:
		return "access_token expired"
	case CodeRequirePOST:
		return "require POST method"
	case CodeEmptyPostData:
		return "empty post data"
	case CodeDailyQuota:
		return "reach max api daily quota limit"
	case CodeMinuteQuota:
		return "api minute-quota reach limit must slower retry next minute"
	case CodeBadJSON:
		return "data format error"
	}
	return "errcode " + strconv.Itoa(code)
}

// errorBody is WeChat's error shape.
type errorBody struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// contentType is what api.weixin.qq.com sends with its JSON answers.
const contentType = "application/json; encoding=utf-8"

// writeJSON sends v with HTTP 200, Chinese unescaped as WeChat does.
func writeJSON(w http.ResponseWriter, v any) { wxwire.WriteJSON(w, contentType, v) }

// fail sends WeChat's error answer: HTTP 200, errcode, errmsg with a rid.
func (s *Server) fail(w http.ResponseWriter, code int, msg string) {
	if msg == "" {
		msg = errMsg(code)
	}
	writeJSON(w, errorBody{ErrCode: code, ErrMsg: msg + " rid: " + s.rid()})
}

// rid makes a request id shaped like WeChat's ("6597b34f-49e4c9dc-1b25fb87").
func (s *Server) rid() string { return wxwire.RID(s.cfg.Seed, s.ridSeq.Add(1), s.now()) }

// maxBody bounds a request body.
const maxBody = wxwire.MaxBody

// decodeBody reads a POST body into v (see wxwire.DecodeBody) and reports
// whether the handler may go on.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return wxwire.DecodeBody(w, r, v, func(w http.ResponseWriter, code int) { s.fail(w, code, "") })
}
