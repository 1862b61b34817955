package top

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"strings"
)

// SignMethod is the sign_method parameter.
type SignMethod string

// Signature methods (fact sheet §1.2).
const (
	SignMD5        SignMethod = "md5"
	SignHMAC       SignMethod = "hmac" // HMAC-MD5
	SignHMACSHA256 SignMethod = "hmac-sha256"
)

// Valid reports whether m is one of the three methods.
func (m SignMethod) Valid() bool {
	return m == SignMD5 || m == SignHMAC || m == SignHMACSHA256
}

// SignString is what a signature covers: every parameter except sign and
// those with an empty value (as the official SDKs do), sorted by name in
// byte order, each name followed by its value, no separators, values
// unencoded.
func SignString(params map[string]string) string {
	keys := make([]string, 0, len(params))
	n := 0
	for k, v := range params {
		if k == "sign" || v == "" {
			continue
		}
		keys = append(keys, k)
		n += len(k) + len(v)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.Grow(n)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(params[k])
	}
	return b.String()
}

// Sign returns the request signature of params with method m: upper-case
// hex of md5(secret + SignString + secret), or of HMAC-MD5 / HMAC-SHA256
// keyed with the secret over the bare SignString.
func Sign(m SignMethod, secret string, params map[string]string) (string, error) {
	s := SignString(params)
	var h hash.Hash
	switch m {
	case SignMD5:
		h = md5.New()
		s = secret + s + secret
	case SignHMAC:
		h = hmac.New(md5.New, []byte(secret))
	case SignHMACSHA256:
		h = hmac.New(sha256.New, []byte(secret))
	default:
		return "", fmt.Errorf("top: sign method %q is not md5, hmac or hmac-sha256", m)
	}
	h.Write([]byte(s))
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil))), nil
}

// SPISign returns the signature Tmall puts on an SPI request it sends to the
// brand (Taobao SDK SpiUtils): upper-case hex of
// md5(secret + sorted(params) + body + secret), where params are the query
// (and listed header) parameters except sign, each name followed by its
// value. Unlike SignString, empty values are kept.
func SPISign(secret string, params map[string]string, body []byte) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "sign" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	h := md5.New()
	h.Write([]byte(secret))
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte(params[k]))
	}
	h.Write(body)
	h.Write([]byte(secret))
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}

// TMCConnectSign is the signature of a TMC long-connection CONNECT frame:
// upper-case hex of md5(secret + "app_key"+appKey + "group_name"+group +
// "timestamp"+ms + secret). The connector pulls over HTTP and does not use
// it; it is here so the fact sheet's vector C7 is checked.
func TMCConnectSign(secret, appKey, group, timestampMS string) string {
	sum := md5.Sum([]byte(secret + "app_key" + appKey + "group_name" + group + "timestamp" + timestampMS + secret))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
