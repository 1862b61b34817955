package sandbox_test

// Small assertion helpers. (testify is in go.mod, but its own dependencies
// are not in go.sum, so the tests keep to the standard library.)

import (
	"cmp"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"testing"
)

func note(msg []any) string {
	if len(msg) == 0 {
		return ""
	}
	return fmt.Sprint(msg...) + ": "
}

func equal[T any](t testing.TB, want, got T, msg ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%swant %#v, got %#v", note(msg), want, got)
	}
}

func notEqual[T any](t testing.TB, a, b T, msg ...any) {
	t.Helper()
	if reflect.DeepEqual(a, b) {
		t.Fatalf("%sboth are %#v", note(msg), a)
	}
}

func noError(t testing.TB, err error, msg ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%sunexpected error: %v", note(msg), err)
	}
}

func isError(t testing.TB, err error, msg ...any) {
	t.Helper()
	if err == nil {
		t.Fatalf("%swant an error, got none", note(msg))
	}
}

func isTrue(t testing.TB, cond bool, msg ...any) {
	t.Helper()
	if !cond {
		t.Fatalf("%scondition failed", note(msg))
	}
}

func greater[T cmp.Ordered](t testing.TB, a, b T, msg ...any) {
	t.Helper()
	if !(a > b) {
		t.Fatalf("%swant %v > %v", note(msg), a, b)
	}
}

func less[T cmp.Ordered](t testing.TB, a, b T, msg ...any) {
	t.Helper()
	if !(a < b) {
		t.Fatalf("%swant %v < %v", note(msg), a, b)
	}
}

func atLeast[T cmp.Ordered](t testing.TB, a, b T, msg ...any) {
	t.Helper()
	if a < b {
		t.Fatalf("%swant %v >= %v", note(msg), a, b)
	}
}

func atMost[T cmp.Ordered](t testing.TB, a, b T, msg ...any) {
	t.Helper()
	if a > b {
		t.Fatalf("%swant %v <= %v", note(msg), a, b)
	}
}

// matches checks s against re, a string or *regexp.Regexp.
func matches(t testing.TB, re any, s string, msg ...any) {
	t.Helper()
	var r *regexp.Regexp
	switch v := re.(type) {
	case string:
		r = regexp.MustCompile(v)
	case *regexp.Regexp:
		r = v
	default:
		t.Fatalf("matches: bad pattern %T", re)
	}
	if !r.MatchString(s) {
		t.Fatalf("%s%q does not match %s", note(msg), s, r)
	}
}

func jsonEq(t testing.TB, want, got string, msg ...any) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("jsonEq: want is not JSON: %v", err)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%sgot is not JSON (%v): %s", note(msg), err, got)
	}
	if !reflect.DeepEqual(w, g) {
		t.Fatalf("%swant JSON %s, got %s", note(msg), want, got)
	}
}

func has[T comparable](t testing.TB, s []T, v T, msg ...any) {
	t.Helper()
	if !slices.Contains(s, v) {
		t.Fatalf("%s%v does not contain %v", note(msg), s, v)
	}
}

func hasNot[T comparable](t testing.TB, s []T, v T, msg ...any) {
	t.Helper()
	if slices.Contains(s, v) {
		t.Fatalf("%s%v contains %v", note(msg), s, v)
	}
}

func lacksKey[V any](t testing.TB, m map[string]V, key string, msg ...any) {
	t.Helper()
	if _, ok := m[key]; ok {
		t.Fatalf("%sunexpected key %q", note(msg), key)
	}
}

func panics(t testing.TB, f func(), msg ...any) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatalf("%swant a panic", note(msg))
		}
	}()
	f()
}
