// Package wxwire holds the wire helpers the WeChat-family sandboxes (the
// official account, mini-program and WeCom) share: JSON answers written as
// WeChat writes them, POST bodies decoded with WeChat's error codes, and
// request ids.
package wxwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The errcodes a body that cannot be read gets.
const (
	CodeSystemBusy    = -1
	CodeEmptyPostData = 44002
	CodeBadJSON       = 47001
)

// MaxBody bounds a request body; the largest legal one is a few KB.
const MaxBody = 1 << 20

// WriteJSON sends v with HTTP 200 and contentType, Chinese unescaped as
// WeChat does.
func WriteJSON(w http.ResponseWriter, contentType string, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only the sandboxes' own types reach here; they always encode.
		http.Error(w, "sandbox: encode answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes()) // the client hanging up is not the sandbox's problem
}

// DecodeBody reads a POST body into v. It answers, through fail, 44002 for
// an empty body and 47001 for anything that is not the expected JSON, and
// reports whether the handler may go on.
func DecodeBody(w http.ResponseWriter, r *http.Request, v any, fail func(w http.ResponseWriter, code int)) bool {
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	switch {
	case err != nil:
		fail(w, CodeSystemBusy)
		return false
	case len(bytes.TrimSpace(data)) == 0:
		fail(w, CodeEmptyPostData)
		return false
	case len(data) > MaxBody:
		fail(w, CodeBadJSON)
		return false
	}
	if err := json.Unmarshal(data, v); err != nil {
		fail(w, CodeBadJSON)
		return false
	}
	return true
}

// RID makes the seq-th request id of a sandbox seeded with seed, shaped
// like WeChat's: the unix time in hex, then two hex words (e.g.
// "6597b34f-49e4c9dc-1b25fb87").
func RID(seed, seq uint64, now time.Time) string {
	h := Mix(seed ^ seq*0x9e3779b97f4a7c15)
	return fmt.Sprintf("%08x-%08x-%08x", uint32(now.Unix()), uint32(h), uint32(h>>32))
}

// Mix is splitmix64's finaliser: a cheap, well-spread hash of x.
func Mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
