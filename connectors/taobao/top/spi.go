package top

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Tmall brand-membership (会员通 / 品牌会员中心) SPI methods: Tmall calls the
// brand's endpoint with these (fact sheet §1.6).
const (
	SPIBindQuery = "tmall.mei.crm.member.bind.query"
	SPIBind      = "tmall.mei.crm.bind"
	SPIRegister  = "tmall.mei.crm.member.register"
	SPIActivate  = "qimen.alibaba.member.activate"
)

// bind.query reply codes (M, [TOP-BINDQ]).
const (
	SPICodeOK          = "SUC" // bound / done
	SPICodeNoMember    = "E01" // no such member
	SPICodeNotBound    = "E02" // not bound
	SPICodeSystemError = "E04" // system error: Tmall retries
)

// SPIMaxSkew is how old an SPI request may be (the Taobao SDK's SpiUtils
// rejects requests older than five minutes).
const SPIMaxSkew = 5 * time.Minute

// HeaderSignList names the headers whose values an SPI signature covers.
const HeaderSignList = "top-sign-list"

// Errors of SPI verification.
var (
	ErrSPISignature = errors.New("spi signature does not match")
	ErrSPITimestamp = errors.New("spi timestamp missing or outside the allowed window")
	ErrSPIApp       = errors.New("spi call is for another app")
)

// SPIRequest is an SPI call Tmall made to the brand: its signed parameters
// (query, plus the headers named in top-sign-list), the sign, and the raw
// body, which the signature also covers.
type SPIRequest struct {
	Params map[string]string
	Sign   string
	Body   []byte
}

// ParseSPI splits an SPI call into its parts. It does not look into the body:
// verify first.
func ParseSPI(rawQuery string, header http.Header, body []byte) (*SPIRequest, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("spi query: %w", err)
	}
	r := &SPIRequest{Params: map[string]string{}, Body: body, Sign: q.Get("sign")}
	for k := range q {
		if k != "sign" {
			r.Params[k] = q.Get(k)
		}
	}
	if list := header.Get(HeaderSignList); list != "" {
		for _, k := range strings.Split(list, ",") {
			k = strings.TrimSpace(k)
			if k == "" {
				continue
			}
			v, err := url.QueryUnescape(header.Get(k))
			if err != nil {
				v = header.Get(k)
			}
			r.Params[k] = v
		}
	}
	return r, nil
}

// Method is the SPI method called.
func (r *SPIRequest) Method() string { return r.Params["method"] }

// Verify checks the signature (SPISign, compared exactly: upper case), that
// the call is for appKey (target_app_key, when present), and that its
// timestamp is within SPIMaxSkew of now.
func (r *SPIRequest) Verify(appKey, secret string, now time.Time) error {
	if r.Sign == "" || SPISign(secret, r.Params, r.Body) != r.Sign {
		return ErrSPISignature
	}
	if t := r.Params["target_app_key"]; t != "" && t != appKey {
		return ErrSPIApp
	}
	at, err := ParseTime(r.Params["timestamp"])
	if err != nil || at.IsZero() || now.Sub(at).Abs() > SPIMaxSkew {
		return ErrSPITimestamp
	}
	return nil
}

// SPIMember is the body of the bind.query, bind and register calls. Mobile
// is plaintext: the member agreed to share it with the brand.
type SPIMember struct {
	SellerName string `json:"seller_name,omitempty"`
	Nick       string `json:"nick,omitempty"`
	MixNick    string `json:"mix_nick,omitempty"`
	OpenID     string `json:"open_id,omitempty"`
	UnionID    string `json:"union_id,omitempty"`
	OUID       string `json:"ouid,omitempty"`
	OMID       string `json:"omid,omitempty"`
	Mobile     string `json:"mobile,omitempty"`
	Extend     string `json:"extend,omitempty"`
}

// Member decodes the body of a verified member SPI call.
func (r *SPIRequest) Member() (*SPIMember, error) {
	var m SPIMember
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return nil, fmt.Errorf("spi %s body: %w", r.Method(), err)
	}
	return &m, nil
}

// SPIReplyMember is the member part of a reply.
type SPIReplyMember struct {
	Point  int64  `json:"point"`
	Level  int64  `json:"level"`
	Nick   string `json:"nick,omitempty"`
	Extend string `json:"extend,omitempty"`
	Mobile string `json:"mobile,omitempty"`
}

// SPIReply is the JSON reply to a member SPI call: the bind.query format
// ({"query_code":…,"member":{…}}, M), used for bind and register too (L:
// their reply is not documented in the fact sheet).
type SPIReply struct {
	QueryCode string          `json:"query_code"`
	Member    *SPIReplyMember `json:"member,omitempty"`
	Message   string          `json:"message,omitempty"`
}

// Marshal encodes the reply.
func (r SPIReply) Marshal() []byte {
	b, _ := json.Marshal(r)
	return b
}

// NewSPIRequest builds a signed SPI call to target as Tmall sends it: a JSON
// POST with the system parameters in the query. The sandbox and the tests
// use it.
func NewSPIRequest(ctx context.Context, target, appKey, secret, method string, body []byte, now time.Time) (*http.Request, error) {
	p := map[string]string{
		"method": method, "app_key": "qimen", "target_app_key": appKey, "timestamp": FormatTime(now),
		"sign_method": string(SignMD5), "format": "json", "v": APIVersion,
	}
	q := url.Values{}
	for k, v := range p {
		q.Set(k, v)
	}
	q.Set("sign", SPISign(secret, p, body))
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("spi target: %w", err)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("spi request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json;charset=utf-8")
	return req, nil
}
