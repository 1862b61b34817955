package sdk

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Class says what kind of failure an error is, and so what the hub does
// about it. Only ClassUnavailable and ClassThrottled count toward a circuit
// breaker.
type Class int

// Error classes.
const (
	// ClassPermanent: the operation cannot succeed as asked; the hub fails the
	// run and reports the error. It is the class of unclassified errors.
	ClassPermanent Class = iota
	// ClassAuth: credentials are wrong or expired beyond refresh. The hub stops
	// the connection's runs and tells the user to fix its credentials.
	ClassAuth
	// ClassThrottled: the platform asked to slow down. The hub waits RetryAfter
	// (or backs off) and resumes from the last checkpoint.
	ClassThrottled
	// ClassUnavailable: network trouble, a 5xx, a timeout. The hub retries with
	// backoff from the last checkpoint, and counts it toward the breaker.
	ClassUnavailable
	// ClassInvalidConfig: the connection's config is wrong; Field names the
	// field. The hub does not retry.
	ClassInvalidConfig
	// ClassBadRecord: one record could not be mapped. It goes to the
	// dead-letter table; the run goes on.
	ClassBadRecord
)

var classNames = [...]string{"permanent", "auth", "throttled", "unavailable", "invalid_config", "bad_record"}

// String returns the class name used in logs, the CLI and the API.
func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return fmt.Sprintf("Class(%d)", int(c))
	}
	return classNames[c]
}

// Error is a classed error. Connectors return it (usually through the
// constructors below); it crosses the gRPC boundary intact, so errors.Is and
// errors.As work the same on the hub side.
type Error struct {
	Class Class
	// Message says what went wrong, in words a user can act on.
	Message string
	// RetryAfter is how long to wait before trying again (ClassThrottled).
	RetryAfter time.Duration
	// PlatformCode is the platform's own error code (WeChat errcode, …).
	PlatformCode string
	// Field names the config field at fault (ClassInvalidConfig).
	Field string
	// Err is the underlying error, if any. It does not cross the wire; its text
	// is folded into Message there.
	Err error

	sentinel bool
}

// Error implements error.
func (e *Error) Error() string {
	msg := e.Class.String()
	if e.Field != "" {
		msg += ": " + e.Field
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.PlatformCode != "" {
		msg += " (platform code " + e.PlatformCode + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's class, so that
// errors.Is(err, sdk.ErrThrottled) works on any classed error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.sentinel && t.Class == e.Class
}

// sentinel marks the package-level class sentinels.
func sentinel(c Class) *Error { return &Error{Class: c, sentinel: true} }

// Sentinels for errors.Is. Each matches every *Error of its class.
var (
	ErrAuth          = sentinel(ClassAuth)
	ErrThrottled     = sentinel(ClassThrottled)
	ErrUnavailable   = sentinel(ClassUnavailable)
	ErrInvalidConfig = sentinel(ClassInvalidConfig)
	ErrBadRecord     = sentinel(ClassBadRecord)
	ErrPermanent     = sentinel(ClassPermanent)
)

// AuthError reports wrong or expired credentials.
func AuthError(platformCode, format string, args ...any) error {
	return &Error{Class: ClassAuth, PlatformCode: platformCode, Message: fmt.Sprintf(format, args...)}
}

// ThrottledError reports that the platform asked to slow down; wait may be 0
// when the platform gave no hint.
func ThrottledError(wait time.Duration, platformCode, format string, args ...any) error {
	return &Error{Class: ClassThrottled, RetryAfter: wait, PlatformCode: platformCode, Message: fmt.Sprintf(format, args...)}
}

// UnavailableError reports a transient failure: network, 5xx, timeout.
func UnavailableError(err error, format string, args ...any) error {
	return &Error{Class: ClassUnavailable, Err: err, Message: fmt.Sprintf(format, args...)}
}

// ConfigError reports a wrong config field.
func ConfigError(field, format string, args ...any) error {
	return &Error{Class: ClassInvalidConfig, Field: field, Message: fmt.Sprintf(format, args...)}
}

// PermanentError reports a failure that retrying will not fix.
func PermanentError(platformCode, format string, args ...any) error {
	return &Error{Class: ClassPermanent, PlatformCode: platformCode, Message: fmt.Sprintf(format, args...)}
}

// ClassOf returns the class of err: the class of the first *Error in its
// chain; ClassUnavailable for network errors and deadlines; ClassPermanent
// otherwise. context.Canceled is permanent: the caller gave up.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) {
		return ClassUnavailable
	}
	return ClassPermanent
}

// RetryAfter returns the wait an error asks for, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
