package doudian

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// SignMethod is the gateway's sign_method parameter.
type SignMethod string

// Signature methods. The gateway assumes md5 when sign_method is absent.
const (
	SignMD5        SignMethod = "md5"
	SignHMACSHA256 SignMethod = "hmac-sha256"
)

// APIVersion is the value of the v parameter every call sends.
const APIVersion = "2"

// SignParams are the five values the gateway signature covers. access_token
// and sign_method are not signed.
type SignParams struct {
	AppKey string
	// Method is the API method, e.g. "order.searchList".
	Method string
	// ParamJSON is the exact request body: the signature covers these bytes,
	// not a re-serialisation of them.
	ParamJSON string
	// Timestamp is the timestamp parameter exactly as sent (Unix seconds, or
	// "2006-01-02 15:04:05" in GMT+8).
	Timestamp string
	// V is the API version; empty means APIVersion.
	V string
}

// Sign returns the gateway signature of p: lower-case hex of md5 or
// HMAC-SHA256 (keyed with the secret) over
// secret + "app_key"…"method"…"param_json"…"timestamp"…"v"… + secret.
// An unknown method signs as md5, as the gateway assumes.
func Sign(m SignMethod, appSecret string, p SignParams) string {
	v := p.V
	if v == "" {
		v = APIVersion
	}
	var b strings.Builder
	b.Grow(2*len(appSecret) + len(p.AppKey) + len(p.Method) + len(p.ParamJSON) + len(p.Timestamp) + 40)
	b.WriteString(appSecret)
	b.WriteString("app_key")
	b.WriteString(p.AppKey)
	b.WriteString("method")
	b.WriteString(p.Method)
	b.WriteString("param_json")
	b.WriteString(p.ParamJSON)
	b.WriteString("timestamp")
	b.WriteString(p.Timestamp)
	b.WriteString("v")
	b.WriteString(v)
	b.WriteString(appSecret)
	return digest(m, appSecret, b.String())
}

// SPISign returns the signature of an SPI request the platform sends to an
// app: like Sign but over app_key, param_json and timestamp only (no method,
// no v), with paramJSON in sorted-key form.
func SPISign(m SignMethod, appKey, appSecret, timestamp, paramJSON string) string {
	s := appSecret + "app_key" + appKey + "param_json" + paramJSON + "timestamp" + timestamp + appSecret
	return digest(m, appSecret, s)
}

func digest(m SignMethod, secret, s string) string {
	var h hash.Hash
	if m == SignHMACSHA256 {
		h = hmac.New(sha256.New, []byte(secret))
	} else {
		h = md5.New()
	}
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

// ErrNotObject is returned when param_json is not a JSON object.
var ErrNotObject = errors.New("param_json must be a JSON object")

// CanonicalJSON renders business parameters as the gateway's param_json: v is
// marshalled with encoding/json, then re-encoded with keys sorted at every
// level, no spaces, HTML escaping off and UTF-8 left as is; numbers keep their
// literal text (no float rounding). A nil v gives "{}". v must marshal to an
// object.
func CanonicalJSON(v any) ([]byte, error) {
	if v == nil {
		return []byte("{}"), nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal param_json: %w", err)
	}
	return Canonicalize(raw)
}

// Canonicalize re-encodes a JSON object in the canonical param_json form
// described at CanonicalJSON.
func Canonicalize(raw []byte) ([]byte, error) {
	return canonicalize(raw, false)
}

func canonicalize(raw []byte, escapeHTML bool) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return []byte("{}"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotObject, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrNotObject)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(m); err != nil { // map keys are sorted by encoding/json
		return nil, fmt.Errorf("encode param_json: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
