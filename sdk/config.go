package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// Secret is a config value that never prints: fmt, %v, JSON and logs all
// show "[redacted]". Reveal returns the value for use.
type Secret struct{ v string }

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the secret value. Call it only where the value is sent to
// the platform.
func (s Secret) Reveal() string { return s.v }

// String implements fmt.Stringer.
func (s Secret) String() string { return "[redacted]" }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return "[redacted]" }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Config is a connection's config, validated against the connector's Spec.
// Accessors return the field's value, its default, or the zero value.
type Config struct {
	values map[string]any
	raw    map[string]any
}

// ParseConfig validates raw values against the spec's fields: required
// fields present, types right, enums respected, no unknown fields. It
// returns every problem at once, each naming its field.
func (s Spec) ParseConfig(raw map[string]any) (Config, error) {
	cfg := Config{values: map[string]any{}, raw: raw}
	var errs []error
	known := map[string]bool{}
	for _, f := range s.Config {
		known[f.Name] = true
		v, ok := raw[f.Name]
		if !ok || v == nil || v == "" {
			if f.Required {
				errs = append(errs, &Error{Class: ClassInvalidConfig, Field: f.Name, Message: "is required: " + f.Description})
				continue
			}
			if f.Default == "" {
				continue
			}
			v = f.Default
		}
		pv, err := parseField(f, v)
		if err != nil {
			errs = append(errs, &Error{Class: ClassInvalidConfig, Field: f.Name, Message: err.Error()})
			continue
		}
		if f.Secret {
			if str, ok := pv.(string); ok {
				pv = NewSecret(str)
			}
		}
		cfg.values[f.Name] = pv
	}
	var unknown []string
	for k := range raw {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		errs = append(errs, s.unknownField(k))
	}
	return cfg, errors.Join(errs...)
}

// unknownField is the error for a key that is not a config field.
func (s Spec) unknownField(k string) *Error {
	names := make([]string, 0, len(s.Config))
	for _, f := range s.Config {
		names = append(names, f.Name)
	}
	return &Error{Class: ClassInvalidConfig, Field: k, Message: fmt.Sprintf("is not a %s config field (known: %v)", s.Name, names)}
}

// CheckConfigPatch validates a config patch (a JSON object, as a plugin
// passes to Host.UpdateConfig) against the spec's fields: every key a
// declared field, every value of the field's type (null or "" clears the
// field, as in ParseConfig). It returns every problem at once, each a
// ClassInvalidConfig error naming its key. The hub checks every patch with
// it before storing it, since a stored patch is laid over the connection's
// config on every later call.
func (s Spec) CheckConfigPatch(patch []byte) error {
	var raw map[string]any
	if err := json.Unmarshal(patch, &raw); err != nil || raw == nil {
		return &Error{Class: ClassInvalidConfig, Message: fmt.Sprintf("config patch is not a JSON object: %v", err)}
	}
	keys := slices.Sorted(maps.Keys(raw))
	var errs []error
	for _, k := range keys {
		i := slices.IndexFunc(s.Config, func(f Field) bool { return f.Name == k })
		if i < 0 {
			e := s.unknownField(k)
			e.Message = "config patch refused: " + e.Message
			errs = append(errs, e)
			continue
		}
		if v := raw[k]; v == nil || v == "" {
			continue
		}
		if _, err := parseField(s.Config[i], raw[k]); err != nil {
			errs = append(errs, &Error{Class: ClassInvalidConfig, Field: k, Message: "config patch refused: " + err.Error()})
		}
	}
	return errors.Join(errs...)
}

// ParseConfigJSON is ParseConfig on a JSON object.
func (s Spec) ParseConfigJSON(b []byte) (Config, error) {
	raw := map[string]any{}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &raw); err != nil {
			return Config{}, &Error{Class: ClassInvalidConfig, Message: "config is not a JSON object: " + err.Error()}
		}
	}
	return s.ParseConfig(raw)
}

// String returns a string field.
func (c Config) String(name string) string { s, _ := c.values[name].(string); return s }

// Secret returns a secret field.
func (c Config) Secret(name string) Secret { s, _ := c.values[name].(Secret); return s }

// Int returns an int field.
func (c Config) Int(name string) int64 { n, _ := c.values[name].(int64); return n }

// Bool returns a bool field.
func (c Config) Bool(name string) bool { b, _ := c.values[name].(bool); return b }

// Duration returns a duration field.
func (c Config) Duration(name string) time.Duration { d, _ := c.values[name].(time.Duration); return d }

// Strings returns a string-list field.
func (c Config) Strings(name string) []string {
	l, _ := c.values[name].([]string)
	return slices.Clone(l)
}

// Has reports whether the field has a value (given or default).
func (c Config) Has(name string) bool { _, ok := c.values[name]; return ok }
