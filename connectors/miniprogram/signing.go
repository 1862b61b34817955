package miniprogram

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
)

// The headers of a signed event (see README.md, "Signing").
const (
	// HeaderTimestamp carries the signing time in unix seconds.
	HeaderTimestamp = "X-Channelhub-Timestamp"
	// HeaderSignature carries "sha256=" and the lower-case hex HMAC-SHA256,
	// keyed with the event secret, of timestamp + "." + the raw body.
	HeaderSignature = "X-Channelhub-Signature"
	// SignaturePrefix is the scheme prefix of HeaderSignature.
	SignaturePrefix = "sha256="
)

// Sign returns the HeaderSignature value for body signed at timestamp (unix
// seconds) with secret: "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." +
// body)). It is the recipe a brand's backend follows.
func Sign(secret string, timestamp int64, body []byte) string {
	return SignaturePrefix + hex.EncodeToString(mac([]byte(secret), strconv.FormatInt(timestamp, 10), body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// signatureError says why a request's signature was not accepted. Header
// names the header at fault.
type signatureError struct {
	Header string
	Reason string
}

func (e *signatureError) Error() string { return e.Header + ": " + e.Reason }

// errNoSecret is a bug guard: a connector always has an event secret.
var errNoSecret = errors.New("no event secret configured")

// verify checks the timestamp and signature headers against body, with each
// of secrets in turn (the current one, then the one being rotated out), and
// returns the signed timestamp. It parses nothing of the body.
func verify(timestampHeader, signatureHeader string, body []byte, secrets [][]byte) (int64, error) {
	if len(secrets) == 0 {
		return 0, errNoSecret
	}
	tsText := strings.TrimSpace(timestampHeader)
	if tsText == "" {
		return 0, &signatureError{Header: HeaderTimestamp, Reason: "missing"}
	}
	if len(tsText) > 12 || strings.Trim(tsText, "0123456789") != "" {
		return 0, &signatureError{Header: HeaderTimestamp, Reason: "want unix seconds (digits only)"}
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return 0, &signatureError{Header: HeaderTimestamp, Reason: "want unix seconds (digits only)"}
	}
	sigText := strings.TrimSpace(signatureHeader)
	if sigText == "" {
		return 0, &signatureError{Header: HeaderSignature, Reason: "missing"}
	}
	hexSig, ok := strings.CutPrefix(sigText, SignaturePrefix)
	if !ok {
		return 0, &signatureError{Header: HeaderSignature, Reason: "want sha256=<64 hex digits>"}
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return 0, &signatureError{Header: HeaderSignature, Reason: "want sha256=<64 hex digits>"}
	}
	for _, s := range secrets {
		if hmac.Equal(got, mac(s, tsText, body)) {
			return ts, nil
		}
	}
	return 0, &signatureError{Header: HeaderSignature, Reason: "does not match the body and timestamp under the connection's event secret"}
}
