package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/channelhub/channelhub/connectors/xiaohongshu/ark"
)

// contentType is what the sandbox sends its JSON answers as.
const contentType = "application/json;charset=UTF-8"

// writeJSON sends v with HTTP 200, Chinese unescaped.
func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only the sandbox's own types reach here; they always encode.
		http.Error(w, "sandbox: encode answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes()) // the client hanging up is not the sandbox's problem
}

// reply sends a success envelope around data.
func reply(w http.ResponseWriter, data any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil {
		http.Error(w, "sandbox: encode data: "+err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, ark.Response{Success: true, ErrorCode: ark.CodeSuccess, ErrorMsg: "", Data: bytes.TrimRight(buf.Bytes(), "\n")})
}

// fail sends a failure envelope: HTTP 200, success false.
func (s *Server) fail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, ark.Response{Success: false, ErrorCode: code, ErrorMsg: msg})
}

// decodeParams decodes body's business parameters into v, answering
// ark.CodeBadParams and reporting false when they do not fit.
func (s *Server) decodeParams(w http.ResponseWriter, body []byte, v any) bool {
	if err := json.Unmarshal(body, v); err != nil {
		s.fail(w, ark.CodeBadParams, "请求参数错误: "+err.Error())
		return false
	}
	return true
}
