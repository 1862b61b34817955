package ark

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Version is the gateway version every OAuth2-era call sends ("2.0").
const Version = "2.0"

// SignParams are the four system parameters the gateway signature covers.
// Business parameters and accessToken are not signed.
type SignParams struct {
	// Method is the API method, e.g. "order.getOrderList".
	Method string
	// AppID is the app's appId (also called app key).
	AppID string
	// Timestamp is the timestamp parameter exactly as sent: Unix seconds in
	// decimal.
	Timestamp string
	// Version is the version parameter; empty means Version ("2.0").
	Version string
}

// Sign returns the gateway signature of p: lower-case hex md5 of
//
//	method + "?appId=" + appId + "&timestamp=" + timestamp + "&version=" + version + appSecret
//
// (fact sheet §3.2, official doc 039).
func Sign(appSecret string, p SignParams) string {
	v := p.Version
	if v == "" {
		v = Version
	}
	var b strings.Builder
	b.Grow(len(p.Method) + len(p.AppID) + len(p.Timestamp) + len(v) + len(appSecret) + 32)
	b.WriteString(p.Method)
	b.WriteString("?appId=")
	b.WriteString(p.AppID)
	b.WriteString("&timestamp=")
	b.WriteString(p.Timestamp)
	b.WriteString("&version=")
	b.WriteString(v)
	b.WriteString(appSecret)
	return md5Hex(b.String())
}

// Push request headers (fact sheet §3.8).
const (
	HeaderAppKey    = "app-key"
	HeaderTimestamp = "timestamp"
	HeaderSign      = "sign"
)

// PushSignParams are what the sign header of a push covers: the path and
// query parameters of the push URL configured for the app, and the app-key
// and timestamp headers. The body is not signed.
type PushSignParams struct {
	// Path is the push URL's path as configured on the platform, e.g.
	// "/open_api/msg".
	Path string
	// Query are the push URL's own query parameters, decoded (the platform
	// signs Chinese text as is, not percent-encoded). A "sign" key is ignored.
	Query url.Values
	// AppKey is the app-key header (the appId).
	AppKey string
	// Timestamp is the timestamp header, Unix seconds.
	Timestamp string
}

// PushSign returns the sign header of a push: lower-case hex md5 of
// path + "?" + k=v pairs of the query parameters plus app-key and timestamp,
// sorted by name and joined with "&", + appSecret (fact sheet §3.8, vector
// T3). The same rule signed the legacy v1 API (vector T4).
func PushSign(appSecret string, p PushSignParams) string {
	type kv struct{ k, v string }
	pairs := make([]kv, 0, len(p.Query)+2)
	for k, vs := range p.Query {
		if k == HeaderSign || k == HeaderAppKey || k == HeaderTimestamp {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, kv{k, v})
		}
	}
	pairs = append(pairs, kv{HeaderAppKey, p.AppKey}, kv{HeaderTimestamp, p.Timestamp})
	slices.SortStableFunc(pairs, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	var b strings.Builder
	b.WriteString(p.Path)
	b.WriteByte('?')
	for i, e := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(e.k)
		b.WriteByte('=')
		b.WriteString(e.v)
	}
	b.WriteString(appSecret)
	return md5Hex(b.String())
}

// ErrPushSign is wrapped by every error VerifyPushSign returns.
var ErrPushSign = errors.New("push signature check failed")

// VerifyPushSign checks the sign header of a push the platform sent to
// requestURI (path and query as configured on the platform, e.g.
// "/webhooks/xhs?shop=1") with header. When appKey is not empty the app-key
// header must equal it. Behind a proxy that rewrites paths, pass the public
// path: the platform signs the URL it was given.
func VerifyPushSign(appKey, appSecret, requestURI string, header http.Header) error {
	path, rawQuery, _ := strings.Cut(requestURI, "?")
	if path == "" {
		return fmt.Errorf("%w: empty request path", ErrPushSign)
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fmt.Errorf("%w: query %q: %w", ErrPushSign, rawQuery, err)
	}
	gotKey, ts, sign := header.Get(HeaderAppKey), header.Get(HeaderTimestamp), header.Get(HeaderSign)
	switch {
	case gotKey == "":
		return fmt.Errorf("%w: no %s header", ErrPushSign, HeaderAppKey)
	case appKey != "" && gotKey != appKey:
		return fmt.Errorf("%w: %s header %q is not this app's", ErrPushSign, HeaderAppKey, gotKey)
	case ts == "":
		return fmt.Errorf("%w: no %s header", ErrPushSign, HeaderTimestamp)
	case sign == "":
		return fmt.Errorf("%w: no %s header", ErrPushSign, HeaderSign)
	}
	want := PushSign(appSecret, PushSignParams{Path: path, Query: query, AppKey: gotKey, Timestamp: ts})
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(sign))) != 1 {
		return fmt.Errorf("%w: %s header does not match", ErrPushSign, HeaderSign)
	}
	return nil
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
