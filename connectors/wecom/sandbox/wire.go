package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
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
func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "sandbox: encode answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

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
	h := mix(s.cfg.Seed ^ n*0x9e3779b97f4a7c15)
	return fmt.Sprintf("%d_%d_%08x", s.now().Unix(), n%100, uint32(h))
}

// okBody is {"errcode":0,"errmsg":"ok"}.
var okBody = errorBody{ErrMsg: "ok"}

const maxBody = 1 << 20

// decodeBody reads a POST body into v, answering 44002 for an empty body and
// 47001 for bad JSON. It reports whether the handler may go on.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	switch {
	case err != nil:
		s.fail(w, codeSystemBusy)
		return false
	case len(bytes.TrimSpace(data)) == 0:
		s.fail(w, codeEmptyPostData)
		return false
	case len(data) > maxBody:
		s.fail(w, codeBadJSON)
		return false
	}
	if err := json.Unmarshal(data, v); err != nil {
		s.fail(w, codeBadJSON)
		return false
	}
	return true
}

// mix is splitmix64's finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
