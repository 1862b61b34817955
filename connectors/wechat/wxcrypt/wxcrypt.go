// Package wxcrypt implements the WXBizMsgCrypt callback scheme that the
// WeChat Official Account (safe and compatible modes) and WeCom use for the
// messages and events they push to a server (shared/platforms/wechat.md
// §2.6, §3.3, vectors in §8):
//
//   - msg_signature = hex(sha1(sort(token, timestamp, nonce, encrypt) joined));
//   - the 43-character EncodingAESKey plus "=" is the base64 of a 32-byte
//     AES-256 key; the IV is the key's first 16 bytes; CBC mode; PKCS#7
//     padding to 32-byte blocks;
//   - the plaintext is 16 random bytes, the message length as 4 bytes big
//     endian, the message, and the receiver id (the official account's appid,
//     or the WeCom corp id).
//
// Open verifies the signature before it decrypts anything and checks the
// receiver id; silenceper/wechat's WeCom callback decoding does neither
// (fact sheet §6.6), which is why this package exists. It keeps no state
// beyond a Crypter's key, token and receiver id.
package wxcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Errors callers tell apart with errors.Is. None of their texts carries a
// token, key or message content.
var (
	// ErrSignature: the signature does not match; the request was not made by
	// the platform (or the token is wrong).
	ErrSignature = errors.New("wxcrypt: signature does not verify")
	// ErrReceiver: the message decrypted but is addressed to another app or
	// corp than the receiver id.
	ErrReceiver = errors.New("wxcrypt: message is for another receiver id")
	// ErrDecrypt: the ciphertext is not a WXBizMsgCrypt envelope sealed with
	// this key (bad base64, length, padding or layout). With a verified
	// signature this usually means the EncodingAESKey is wrong.
	ErrDecrypt = errors.New("wxcrypt: ciphertext does not decrypt")
	// ErrTimestamp: the request's timestamp is missing, malformed, or too far
	// from the clock.
	ErrTimestamp = errors.New("wxcrypt: timestamp outside the allowed skew")
)

// KeyLength is the length of an EncodingAESKey.
const KeyLength = 43

// blockSize is the PKCS#7 block size of the scheme (not AES's 16).
const blockSize = 32

// Signature returns hex(sha1(parts sorted lexicographically and
// concatenated)): msg_signature over (token, timestamp, nonce, encrypt), and
// the plain-mode signature over (token, timestamp, nonce).
func Signature(parts ...string) string {
	p := slices.Clone(parts)
	slices.Sort(p)
	h := sha1.New()
	for _, s := range p {
		io.WriteString(h, s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Verify compares a received signature with the expected one in constant
// time and returns ErrSignature when they differ.
func Verify(signature string, parts ...string) error {
	want := Signature(parts...)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(signature)), []byte(want)) != 1 {
		return ErrSignature
	}
	return nil
}

// CheckTimestamp parses a callback's unix-seconds timestamp and returns
// ErrTimestamp when it is missing, malformed or more than skew away from now
// (either way). A skew ≤ 0 turns the distance check off.
func CheckTimestamp(ts string, now time.Time, skew time.Duration) error {
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || n <= 0 {
		return ErrTimestamp
	}
	if skew <= 0 {
		return nil
	}
	d := now.Sub(time.Unix(n, 0))
	if d > skew || d < -skew {
		return fmt.Errorf("%w: %s off the clock, allowed %s", ErrTimestamp, d.Round(time.Second), skew)
	}
	return nil
}

// Crypter seals and opens messages for one receiver.
type Crypter struct {
	token    string
	key      []byte
	receiver string
}

// New builds a Crypter from the callback token, the 43-character
// EncodingAESKey and the receiver id (appid or corp id). An empty receiver id
// turns the receiver check off. The error names what is wrong with the key
// but never shows it.
func New(token, encodingAESKey, receiverID string) (*Crypter, error) {
	if token == "" {
		return nil, errors.New("wxcrypt: empty token")
	}
	if len(encodingAESKey) != KeyLength {
		return nil, fmt.Errorf("wxcrypt: EncodingAESKey has %d characters, want %d", len(encodingAESKey), KeyLength)
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("wxcrypt: EncodingAESKey is not base64 of 32 bytes")
	}
	return &Crypter{token: token, key: key, receiver: receiverID}, nil
}

// Sign returns msg_signature for an encrypted payload.
func (c *Crypter) Sign(timestamp, nonce, encrypt string) string {
	return Signature(c.token, timestamp, nonce, encrypt)
}

// SignPlain returns the plain-mode signature (no payload).
func (c *Crypter) SignPlain(timestamp, nonce string) string {
	return Signature(c.token, timestamp, nonce)
}

// VerifyMsg checks msg_signature over an encrypted payload without
// decrypting it (Open does both).
func (c *Crypter) VerifyMsg(msgSignature, timestamp, nonce, encrypt string) error {
	return Verify(msgSignature, c.token, timestamp, nonce, encrypt)
}

// VerifyPlain checks a plain-mode signature.
func (c *Crypter) VerifyPlain(signature, timestamp, nonce string) error {
	return Verify(signature, c.token, timestamp, nonce)
}

// Open verifies msgSignature over (token, timestamp, nonce, encrypt) and
// only then decrypts encrypt and checks the receiver id. It returns the
// message, or an error wrapping ErrSignature, ErrDecrypt or ErrReceiver.
func (c *Crypter) Open(msgSignature, timestamp, nonce, encrypt string) ([]byte, error) {
	if err := c.VerifyMsg(msgSignature, timestamp, nonce, encrypt); err != nil {
		return nil, err
	}
	msg, receiver, err := c.Decrypt(encrypt)
	if err != nil {
		return nil, err
	}
	if c.receiver != "" && subtle.ConstantTimeCompare([]byte(receiver), []byte(c.receiver)) != 1 {
		return nil, ErrReceiver
	}
	return msg, nil
}

// Decrypt decrypts a base64 payload without verifying anything, returning
// the message and the receiver id inside. Callers of a network-facing
// endpoint want Open.
func (c *Crypter) Decrypt(encrypt string) (msg []byte, receiver string, err error) {
	ct, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, "", fmt.Errorf("%w: not base64 of whole AES blocks", ErrDecrypt)
	}
	block, err := aes.NewCipher(c.key)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, c.key[:aes.BlockSize]).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > blockSize || pad > len(pt) {
		return nil, "", fmt.Errorf("%w: bad padding", ErrDecrypt)
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, "", fmt.Errorf("%w: bad padding", ErrDecrypt)
		}
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < 20 {
		return nil, "", fmt.Errorf("%w: plaintext too short", ErrDecrypt)
	}
	n := binary.BigEndian.Uint32(pt[16:20])
	if uint64(n) > uint64(len(pt)-20) {
		return nil, "", fmt.Errorf("%w: message length past the end", ErrDecrypt)
	}
	return pt[20 : 20+n], string(pt[20+n:]), nil
}

// Encrypt seals msg for the receiver with the given 16 random bytes and
// returns the base64 payload.
func (c *Crypter) Encrypt(msg, random []byte) (string, error) {
	if len(random) != 16 {
		return "", fmt.Errorf("wxcrypt: want 16 random bytes, got %d", len(random))
	}
	pt := make([]byte, 0, 20+len(msg)+len(c.receiver)+blockSize)
	pt = append(pt, random...)
	pt = binary.BigEndian.AppendUint32(pt, uint32(len(msg)))
	pt = append(pt, msg...)
	pt = append(pt, c.receiver...)
	pad := blockSize - len(pt)%blockSize
	pt = append(pt, bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, err := aes.NewCipher(c.key)
	if err != nil {
		return "", fmt.Errorf("wxcrypt: %w", err)
	}
	cipher.NewCBCEncrypter(block, c.key[:aes.BlockSize]).CryptBlocks(pt, pt)
	return base64.StdEncoding.EncodeToString(pt), nil
}

// Envelope is the XML body of an encrypted push: the receiver's account or
// corp id, the payload, and (WeCom) the agent id.
type Envelope struct {
	XMLName    xml.Name `xml:"xml"`
	ToUserName string   `xml:"ToUserName"`
	Encrypt    string   `xml:"Encrypt"`
	AgentID    string   `xml:"AgentID,omitempty"`
}

// maxEnvelope bounds what ParseEnvelope reads; real pushes are a few KB.
const maxEnvelope = 1 << 20

// ParseEnvelope reads the Encrypt field (and the others) from a push body.
// It parses nothing but the envelope: the payload is opened with Open after
// its signature is checked.
func ParseEnvelope(body []byte) (Envelope, error) {
	var e Envelope
	if len(body) > maxEnvelope {
		return e, fmt.Errorf("wxcrypt: envelope of %d bytes is too large", len(body))
	}
	if err := xml.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("wxcrypt: envelope is not XML: %w", err)
	}
	e.Encrypt = strings.TrimSpace(e.Encrypt)
	if e.Encrypt == "" {
		return e, errors.New("wxcrypt: envelope has no Encrypt")
	}
	return e, nil
}

// Marshal renders the envelope with CDATA values, as the platform sends it.
func (e Envelope) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("<xml><ToUserName><![CDATA[")
	b.WriteString(e.ToUserName)
	b.WriteString("]]></ToUserName><Encrypt><![CDATA[")
	b.WriteString(e.Encrypt)
	b.WriteString("]]></Encrypt>")
	if e.AgentID != "" {
		b.WriteString("<AgentID><![CDATA[")
		b.WriteString(e.AgentID)
		b.WriteString("]]></AgentID>")
	}
	b.WriteString("</xml>")
	return b.Bytes()
}
