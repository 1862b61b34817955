package sandbox

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The signature schemes the emulators verify, exactly as the official SDKs
// compute them (fact sheet §1.10 and §2.7). They are exported so that tests
// can check them against the vendors' worked examples and sign requests of
// their own.

// Signature algorithm names as they appear on the wire.
const (
	AlgACS3 = "ACS3-HMAC-SHA256"
	AlgTC3  = "TC3-HMAC-SHA256"
	// RPCSignatureMethod is the SignatureMethod of the legacy Alibaba RPC
	// signature (SignatureVersion 1.0, which Alibaba's docs call "V2").
	RPCSignatureMethod = "HMAC-SHA1"
)

// ErrSignature is wrapped by every signature verification failure.
var ErrSignature = errors.New("signature does not match")

// PercentEncode is Alibaba's percent-encoding: RFC 3986 unreserved characters
// stay, a space is %20, '*' is %2A and '~' is kept.
func PercentEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// canonicalQuery sorts params by name and joins the percent-encoded pairs;
// the first value of a repeated name is used, and empty values keep "k=".
func canonicalQuery(params url.Values, skip string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != skip {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, PercentEncode(k)+"="+PercentEncode(params.Get(k)))
	}
	return strings.Join(parts, "&")
}

// RPCStringToSign is the legacy RPC string to sign: METHOD&%2F&pct(query),
// over every parameter but Signature.
func RPCStringToSign(method string, params url.Values) string {
	return strings.ToUpper(method) + "&" + PercentEncode("/") + "&" + PercentEncode(canonicalQuery(params, "Signature"))
}

// SignRPC returns the legacy RPC signature: base64(HMAC-SHA1(secret+"&",
// string to sign)).
func SignRPC(method, secret string, params url.Values) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(RPCStringToSign(method, params)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ACS3Request is what an ACS3 signature covers.
type ACS3Request struct {
	Method string
	// Path is the canonical URI, "/" for RPC-style APIs.
	Path string
	// Query is the decoded query.
	Query url.Values
	// Headers maps lower-case header names to their values; it must hold
	// every name in SignedHeaders.
	Headers map[string]string
	// SignedHeaders are the lower-case names the signature covers, in any
	// order.
	SignedHeaders []string
	// PayloadHash is the hex SHA-256 of the body (x-acs-content-sha256).
	PayloadHash string
}

// CanonicalRequest returns the ACS3 canonical request.
func (r ACS3Request) CanonicalRequest() string {
	names := slices.Clone(r.SignedHeaders)
	slices.Sort(names)
	var h strings.Builder
	for _, n := range names {
		h.WriteString(n + ":" + strings.TrimSpace(r.Headers[n]) + "\n")
	}
	path := r.Path
	if path == "" {
		path = "/"
	}
	return strings.Join([]string{strings.ToUpper(r.Method), path, canonicalQuery(r.Query, ""), h.String(), strings.Join(names, ";"), r.PayloadHash}, "\n")
}

// SignACS3 returns the hex ACS3-HMAC-SHA256 signature of r.
func SignACS3(secret string, r ACS3Request) string {
	sum := sha256.Sum256([]byte(r.CanonicalRequest()))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(AlgACS3 + "\n" + hex.EncodeToString(sum[:])))
	return hex.EncodeToString(m.Sum(nil))
}

// ACS3Authorization is a parsed ACS3 Authorization header.
type ACS3Authorization struct {
	AccessKeyID   string
	SignedHeaders []string
	Signature     string
}

// ParseACS3Authorization parses
// "ACS3-HMAC-SHA256 Credential=ID,SignedHeaders=a;b,Signature=HEX".
func ParseACS3Authorization(h string) (ACS3Authorization, error) {
	rest, ok := strings.CutPrefix(h, AlgACS3+" ")
	if !ok {
		return ACS3Authorization{}, fmt.Errorf("%w: authorization is not %s", ErrSignature, AlgACS3)
	}
	var a ACS3Authorization
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			a.AccessKeyID = v
		case "SignedHeaders":
			a.SignedHeaders = strings.Split(v, ";")
		case "Signature":
			a.Signature = v
		}
	}
	if a.AccessKeyID == "" || len(a.SignedHeaders) == 0 || a.Signature == "" {
		return ACS3Authorization{}, fmt.Errorf("%w: authorization lacks Credential, SignedHeaders or Signature", ErrSignature)
	}
	return a, nil
}

// TC3Request is what a TC3 signature covers. The Go SDK signs exactly
// content-type and host, over the canonical URI "/".
type TC3Request struct {
	Method      string
	ContentType string
	Host        string
	// Query is the raw canonical query: empty for POST.
	Query     string
	Body      []byte
	Service   string
	Timestamp int64
}

// Date is the UTC date of the timestamp, the credential scope's date.
func (r TC3Request) Date() string { return time.Unix(r.Timestamp, 0).UTC().Format(time.DateOnly) }

// Scope is DATE/SERVICE/tc3_request.
func (r TC3Request) Scope() string { return r.Date() + "/" + r.Service + "/tc3_request" }

// CanonicalRequest returns the TC3 canonical request.
func (r TC3Request) CanonicalRequest() string {
	sum := sha256.Sum256(r.Body)
	headers := "content-type:" + strings.ToLower(strings.TrimSpace(r.ContentType)) + "\nhost:" + strings.ToLower(strings.TrimSpace(r.Host)) + "\n"
	return strings.Join([]string{strings.ToUpper(r.Method), "/", r.Query, headers, "content-type;host", hex.EncodeToString(sum[:])}, "\n")
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// SignTC3 returns the hex TC3-HMAC-SHA256 signature of r.
func SignTC3(secretKey string, r TC3Request) string {
	sum := sha256.Sum256([]byte(r.CanonicalRequest()))
	toSign := AlgTC3 + "\n" + fmt.Sprint(r.Timestamp) + "\n" + r.Scope() + "\n" + hex.EncodeToString(sum[:])
	kDate := hmacSHA256([]byte("TC3"+secretKey), r.Date())
	kSvc := hmacSHA256(kDate, r.Service)
	kSign := hmacSHA256(kSvc, "tc3_request")
	return hex.EncodeToString(hmacSHA256(kSign, toSign))
}

// TC3Authorization is a parsed TC3 Authorization header.
type TC3Authorization struct {
	SecretID      string
	Date          string
	Service       string
	SignedHeaders string
	Signature     string
}

// ParseTC3Authorization parses "TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request,
// SignedHeaders=content-type;host, Signature=HEX".
func ParseTC3Authorization(h string) (TC3Authorization, error) {
	rest, ok := strings.CutPrefix(h, AlgTC3+" ")
	if !ok {
		return TC3Authorization{}, fmt.Errorf("%w: authorization is not %s", ErrSignature, AlgTC3)
	}
	var a TC3Authorization
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred := strings.Split(v, "/")
			if len(cred) != 4 || cred[3] != "tc3_request" {
				return TC3Authorization{}, fmt.Errorf("%w: credential is not ID/DATE/SERVICE/tc3_request", ErrSignature)
			}
			a.SecretID, a.Date, a.Service = cred[0], cred[1], cred[2]
		case "SignedHeaders":
			a.SignedHeaders = v
		case "Signature":
			a.Signature = v
		}
	}
	if a.SecretID == "" || a.Signature == "" {
		return TC3Authorization{}, fmt.Errorf("%w: authorization lacks Credential or Signature", ErrSignature)
	}
	return a, nil
}

// equalHex compares two signatures in constant time.
func equalSig(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }
