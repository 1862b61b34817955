package breaker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/channelhub/channelhub/hub/breaker"
	"github.com/channelhub/channelhub/sdk"
)

func TestBreakerCountsOnlyPlatformFailures(t *testing.T) {
	t.Parallel()
	s := breaker.NewSet(zerolog.Nop())
	st := breaker.Settings{Failures: 3, OpenFor: 50 * time.Millisecond}
	// Auth, config and cancellation never open it.
	for _, err := range []error{sdk.AuthError("40001", "bad secret"), sdk.ConfigError("app_id", "empty"), context.Canceled} {
		for range 5 {
			_ = s.Do("c/read", st, func() error { return err })
		}
	}
	if got := s.State("c/read"); got != "closed" {
		t.Fatalf("state after non-counted failures = %s", got)
	}
	unavailable := sdk.UnavailableError(nil, "502")
	for range 3 {
		if err := s.Do("c/read", st, func() error { return unavailable }); !errors.Is(err, sdk.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	}
	ran := false
	err := s.Do("c/read", st, func() error { ran = true; return nil })
	var open *breaker.OpenError
	if !errors.As(err, &open) || ran {
		t.Fatalf("open breaker ran the call or returned %v", err)
	}
	if open.Until.IsZero() {
		t.Fatal("open error has no retry time")
	}
	// Half-open after OpenFor: one trial call; success closes it.
	time.Sleep(60 * time.Millisecond)
	if err := s.Do("c/read", st, func() error { return nil }); err != nil {
		t.Fatalf("half-open trial: %v", err)
	}
	if got := s.State("c/read"); got != "closed" {
		t.Fatalf("state after successful trial = %s", got)
	}
	// Throttling counts too; other breakers are untouched.
	for range 3 {
		_ = s.Do("c/read", st, func() error { return sdk.ThrottledError(time.Second, "45009", "quota") })
	}
	if s.State("c/read") != "open" || s.State("c/write") != "closed" {
		t.Fatalf("states = %s, %s", s.State("c/read"), s.State("c/write"))
	}
}
