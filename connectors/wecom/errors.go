package wecom

import (
	"errors"
	"regexp"
	"strconv"
	"time"

	"github.com/channelhub/channelhub/sdk"
)

// WeCom errcodes the connector acts on (fact sheet §3.1, §3.4).
const (
	codeSystemBusy         = -1
	codeInvalidSecret      = 40001
	codeInvalidCorpID      = 40013
	codeInvalidToken       = 40014
	codeSecretOtherCorp    = 40091
	codeInvalidExternalID  = 40096
	codeTokenExpired       = 42001
	codeFreqLimit          = 45009
	codeMinuteQuota        = 45011
	codeConcurrency        = 45033
	codeNoPermission       = 48002
	codeIPNotTrusted       = 60020
	codeNotExternalContact = 84061
)

// tokenError reports codes that a fresh access token fixes. (40001 is a
// wrong secret on gettoken, not a stale token, in WeCom.)
func tokenError(code int64) bool { return code == codeInvalidToken || code == codeTokenExpired }

// throttleWait is how long a frequency answer asks to wait: WeCom blocks a
// minute-limited API for the rest of the minute (§3.4 [L]).
const throttleWait = time.Minute

// classify maps a WeCom errcode to an sdk error class. errmsg goes into the
// message: WeCom puts only a hint id, the caller's IP and a doc link there.
func classify(api string, st *status) error {
	code := strconv.FormatInt(st.ErrCode, 10)
	msg := api + ": " + st.ErrMsg
	switch st.ErrCode {
	case codeSystemBusy:
		return &sdk.Error{Class: sdk.ClassUnavailable, PlatformCode: code, Message: msg + " (WeCom system busy)"}
	case codeFreqLimit, codeMinuteQuota:
		return sdk.ThrottledError(throttleWait, code, "%s (frequency limit)", msg)
	case codeConcurrency:
		return sdk.ThrottledError(time.Second, code, "%s (too many concurrent calls)", msg)
	case codeInvalidSecret, codeInvalidCorpID, codeSecretOtherCorp:
		return sdk.AuthError(code, "%s: check corp_id and corp_secret", msg)
	case codeIPNotTrusted:
		return sdk.AuthError(code, "%s: add the hub's outbound IP to the app's trusted IPs", msg)
	case codeNoPermission:
		return sdk.AuthError(code, "%s: the secret's app lacks customer-contact permission (use the 客户联系 secret or an app under 可调用应用)", msg)
	case codeInvalidToken, codeTokenExpired:
		return sdk.AuthError(code, "%s: access token rejected again after a refresh", msg)
	}
	return sdk.PermanentError(code, "%s", msg)
}

// platformCode returns the WeCom errcode in err's chain, or 0.
func platformCode(err error) int64 {
	var se *sdk.Error
	if errors.As(err, &se) {
		n, _ := strconv.ParseInt(se.PlatformCode, 10, 64)
		return n
	}
	return 0
}

var secretInURL = regexp.MustCompile(`(access_token|corpsecret)=[^&\s"]*`)

// scrub removes access tokens and secrets from text that may reach a log.
func scrub(s string) string { return secretInURL.ReplaceAllString(s, "$1=REDACTED") }
