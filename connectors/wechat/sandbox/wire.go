package sandbox

import (
	"net/http"
	"strconv"

	"github.com/channelhub/channelhub/connectors/wechat/wxwire"
)

// WeChat error codes the sandbox answers with (fact sheet §2.1, §2.2, §2.5).
const (
	codeSystemBusy         = -1
	codeInvalidCredential  = 40001 // token superseded (past the grace period) or force-refreshed away
	codeInvalidGrantType   = 40002
	codeInvalidOpenID      = 40003
	codeInvalidAppID       = 40013
	codeInvalidToken       = 40014 // token never issued (or forgotten long ago)
	codeInvalidListSize    = 40032
	codeInvalidSecret      = 40125
	codeTokenMissing       = 41001
	codeAppIDMissing       = 41002
	codeSecretMissing      = 41004
	codeOpenIDMissing      = 41009
	codeTokenExpired       = 42001
	codeRequireGET         = 43001
	codeRequirePOST        = 43002
	codeEmptyPostData      = 44002
	codeDailyQuota         = 45009
	codeMinuteQuota        = 45011
	codeTooManyTags        = 45056
	codeTagHasTooManyFans  = 45057
	codeSystemTag          = 45058
	codeTooManyTagsOnUser  = 45059
	codeInvalidTagName     = 45157
	codeTagNameTooLong     = 45158
	codeInvalidTagID       = 45159
	codeBadJSON            = 47001
	codeAPIUnauthorized    = 48001
	codeOpenIDNotOfThisApp = 49003
)

// errMsg is the errmsg WeChat sends with code, without the " rid: …" suffix.
// Texts for the token and global codes follow the fact sheet and live answers
// quoted there; the English wording of the tag codes (45056–45159) and of
// 40032/41009 is not confirmed by a source [L] — clients must key on errcode.
func errMsg(code int) string {
	switch code {
	case codeSystemBusy:
		return "system error"
	case codeInvalidCredential:
		return "invalid credential, access_token is invalid or not latest"
	case codeInvalidGrantType:
		return "invalid grant_type"
	case codeInvalidOpenID:
		return "invalid openid"
	case codeInvalidAppID:
		return "invalid appid"
	case codeInvalidToken:
		return "invalid access_token"
	case codeInvalidListSize:
		return "invalid openid list size"
	case codeInvalidSecret:
		return "invalid appsecret"
	case codeTokenMissing:
		return "access_token missing"
	case codeAppIDMissing:
		return "appid missing"
	case codeSecretMissing:
		return "appsecret missing"
	case codeOpenIDMissing:
		return "missing openid"
	case codeTokenExpired:
		return "access_token expired"
	case codeRequireGET:
		return "require GET method"
	case codeRequirePOST:
		return "require POST method"
	case codeEmptyPostData:
		return "empty post data"
	case codeDailyQuota:
		return "reach max api daily quota limit"
	case codeMinuteQuota:
		return "api minute-quota reach limit must slower retry next minute"
	case codeTooManyTags:
		return "too many tag now, no need to add new"
	case codeTagHasTooManyFans:
		return "too many fans in this tag, untag them first"
	case codeSystemTag:
		return "can't modify sys tag"
	case codeTooManyTagsOnUser:
		return "too many tags on the user"
	case codeInvalidTagName:
		return "invalid tag name"
	case codeTagNameTooLong:
		return "tag name too long"
	case codeInvalidTagID:
		return "invalid tag id"
	case codeBadJSON:
		return "data format error"
	case codeAPIUnauthorized:
		return "api unauthorized"
	case codeOpenIDNotOfThisApp:
		return "not same appid with appid of access_token"
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
// An empty msg uses errMsg(code).
func (s *Server) fail(w http.ResponseWriter, code int, msg string) {
	if msg == "" {
		msg = errMsg(code)
	}
	writeJSON(w, errorBody{ErrCode: code, ErrMsg: msg + " rid: " + s.rid()})
}

// ok sends {"errcode":0,"errmsg":"ok"}.
func ok(w http.ResponseWriter) { writeJSON(w, errorBody{ErrMsg: "ok"}) }

// rid makes a request id shaped like WeChat's (e.g.
// "6597b34f-49e4c9dc-1b25fb87").
func (s *Server) rid() string { return wxwire.RID(s.cfg.Seed, s.ridSeq.Add(1), s.now()) }

// maxBody bounds a request body.
const maxBody = wxwire.MaxBody

// decodeBody reads a POST body into v (see wxwire.DecodeBody) and reports
// whether the handler may go on.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return wxwire.DecodeBody(w, r, v, func(w http.ResponseWriter, code int) { s.fail(w, code, "") })
}
