package sdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// ProtocolVersion is the plugin protocol version this sdk speaks.
const ProtocolVersion = 1

// Spec describes a connector as data: what it reads and writes, its config
// fields, and its default rate limits. It travels to the hub over the wire
// and into the plugin catalog, so the hub can validate a connection's config
// and print docs without starting the plugin.
type Spec struct {
	// Name is the connector name used in configs ("wechat"): one lower-case word.
	Name string `json:"name"`
	// Version is the connector's semantic version.
	Version     string `json:"version"`
	Platform    string `json:"platform"`
	Description string `json:"description,omitempty"`
	// Streams are the streams Read serves.
	Streams []StreamSpec `json:"streams,omitempty"`
	// Actions are the write actions Write applies (needs the Writer interface).
	Actions []ActionSpec `json:"actions,omitempty"`
	// Config are the connection config fields.
	Config []Field `json:"config,omitempty"`
	// RateLimits are the platform's default quotas, per API group ("*" for the
	// whole app). A connection may override them.
	RateLimits []RateLimit `json:"rate_limits,omitempty"`
	// Webhook says the connector verifies inbound callbacks (WebhookHandler).
	Webhook bool `json:"webhook,omitempty"`
	// Protocol is the plugin protocol version; filled in by the sdk.
	Protocol int `json:"protocol"`
}

// StreamKind is what a stream's records are.
type StreamKind string

// Stream kinds.
const (
	KindMembers StreamKind = "members"
	KindOrders  StreamKind = "orders"
	KindPoints  StreamKind = "points"
	// KindReceipts streams carry Receipt records: reports on actions the
	// hub delivered.
	KindReceipts StreamKind = "receipts"
)

// StreamSpec describes one readable stream.
type StreamSpec struct {
	Name string     `json:"name"`
	Kind StreamKind `json:"kind"`
	// Cursor is the checkpoint kind: "none", "time", "page", "offset", "token".
	Cursor string `json:"cursor"`
	// Sorted says records arrive in cursor order.
	Sorted bool `json:"sorted"`
	// Incremental says the stream supports ModeIncremental.
	Incremental bool   `json:"incremental"`
	Description string `json:"description,omitempty"`
}

// ActionSpec describes one write action type.
type ActionSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// MaxBatch is how many actions the hub sends in one Write; 0 means 500.
	MaxBatch int `json:"max_batch,omitempty"`
}

// RateLimit is a request budget.
type RateLimit struct {
	API       string  `json:"api"`
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst,omitempty"`
}

// FieldType is the type of a config field.
type FieldType string

// Config field types.
const (
	TypeString     FieldType = "string"
	TypeInt        FieldType = "int"
	TypeBool       FieldType = "bool"
	TypeDuration   FieldType = "duration"
	TypeStringList FieldType = "string_list"
)

// Field describes one config field.
type Field struct {
	Name        string    `json:"name"`
	Type        FieldType `json:"type"`
	Description string    `json:"description"`
	Required    bool      `json:"required,omitempty"`
	// Secret fields are encrypted at rest by the hub and never printed.
	Secret  bool     `json:"secret,omitempty"`
	Default string   `json:"default,omitempty"`
	Example string   `json:"example,omitempty"`
	Enum    []string `json:"enum,omitempty"`
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// actionNameRE matches action names: lower-case words joined by dots
// ("tags.add", "member.level").
var actionNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

// secretLooking matches field names that hold credentials; such a field must
// be marked Secret. An app key alone ("app_key", Taobao's and Douyin's app
// id) is not among them: the platforms send it in clear with every request,
// like WeChat's appid, and the secret that goes with it is app_secret. API,
// signing and access keys are credentials.
var secretLooking = regexp.MustCompile(`(?i)(secret|password|passwd|token|private|client_credential|access_?key|aes_?key|api_?key|sign(ing)?_?key)`)

// Check validates the spec itself: names (streams and config fields one
// lower-case word, actions lower-case words joined by dots, none repeated),
// types, and that every secret-looking field (secret, password, token,
// private, api_key/apikey, access_key, aes_key, sign_key/signing_key,
// client_credential) is marked secret. It returns every problem at once.
func (s Spec) Check() error {
	var errs []error
	if !nameRE.MatchString(s.Name) {
		errs = append(errs, fmt.Errorf("spec: name %q must be one lower-case word", s.Name))
	}
	if s.Version == "" {
		errs = append(errs, errors.New("spec: version is empty"))
	}
	seen := map[string]bool{}
	for _, st := range s.Streams {
		if !nameRE.MatchString(st.Name) || seen["stream:"+st.Name] {
			errs = append(errs, fmt.Errorf("spec: stream name %q is invalid or repeated", st.Name))
		}
		seen["stream:"+st.Name] = true
		if !slices.Contains([]StreamKind{KindMembers, KindOrders, KindPoints, KindReceipts}, st.Kind) {
			errs = append(errs, fmt.Errorf("spec: stream %q: kind %q is not members, orders, points or receipts", st.Name, st.Kind))
		}
	}
	for _, a := range s.Actions {
		if !actionNameRE.MatchString(a.Name) || seen["action:"+a.Name] {
			errs = append(errs, fmt.Errorf("spec: action name %q is invalid or repeated (want lower-case words joined by dots, such as tags.add)", a.Name))
		}
		seen["action:"+a.Name] = true
		if a.MaxBatch < 0 {
			errs = append(errs, fmt.Errorf("spec: action %q: max_batch %d is negative", a.Name, a.MaxBatch))
		}
	}
	for _, f := range s.Config {
		if !nameRE.MatchString(f.Name) || seen["field:"+f.Name] {
			errs = append(errs, fmt.Errorf("spec: config field name %q is invalid or repeated", f.Name))
		}
		seen["field:"+f.Name] = true
		if !slices.Contains([]FieldType{TypeString, TypeInt, TypeBool, TypeDuration, TypeStringList}, f.Type) {
			errs = append(errs, fmt.Errorf("spec: config field %q: type %q is not known", f.Name, f.Type))
		}
		if secretLooking.MatchString(f.Name) && !f.Secret {
			errs = append(errs, fmt.Errorf("spec: config field %q looks like a credential but is not marked secret", f.Name))
		}
		if f.Default != "" {
			if _, err := parseField(f, f.Default); err != nil {
				errs = append(errs, fmt.Errorf("spec: config field %q: default: %w", f.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Stream returns the named stream spec.
func (s Spec) Stream(name string) (StreamSpec, bool) {
	for _, st := range s.Streams {
		if st.Name == name {
			return st, true
		}
	}
	return StreamSpec{}, false
}

// Action returns the named action spec.
func (s Spec) Action(name string) (ActionSpec, bool) {
	for _, a := range s.Actions {
		if a.Name == name {
			return a, true
		}
	}
	return ActionSpec{}, false
}

// JSONSchema renders the config fields as a JSON Schema (draft 2020-12)
// object; secret fields carry "writeOnly": true and "x-secret": true.
func (s Spec) JSONSchema() string {
	props := map[string]any{}
	required := []string{}
	for _, f := range s.Config {
		p := map[string]any{"description": f.Description}
		switch f.Type {
		case TypeInt:
			p["type"] = "integer"
		case TypeBool:
			p["type"] = "boolean"
		case TypeStringList:
			p["type"] = "array"
			p["items"] = map[string]any{"type": "string"}
		case TypeDuration:
			p["type"] = "string"
			p["format"] = "duration"
		default:
			p["type"] = "string"
		}
		if f.Secret {
			p["writeOnly"] = true
			p["x-secret"] = true
		}
		if f.Default != "" {
			v, _ := parseField(f, f.Default)
			if d, ok := v.(time.Duration); ok {
				v = d.String()
			}
			p["default"] = v
		}
		if f.Example != "" {
			p["examples"] = []string{f.Example}
		}
		if len(f.Enum) > 0 {
			p["enum"] = f.Enum
		}
		props[f.Name] = p
		if f.Required {
			required = append(required, f.Name)
		}
	}
	b, _ := json.Marshal(map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"title":                s.Name + " connection config",
		"type":                 "object",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	})
	return string(b)
}

// parseField converts a raw config value (from YAML/JSON, or a default
// string) to the field's Go type.
func parseField(f Field, raw any) (any, error) {
	switch f.Type {
	case TypeString:
		s, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %T", raw)
		}
		if len(f.Enum) > 0 && !slices.Contains(f.Enum, s) {
			return nil, fmt.Errorf("%q is not one of %v", s, f.Enum)
		}
		return s, nil
	case TypeInt:
		switch v := raw.(type) {
		case float64:
			if v != float64(int64(v)) {
				return nil, fmt.Errorf("want a whole number, got %v", v)
			}
			return int64(v), nil
		case int:
			return int64(v), nil
		case int64:
			return v, nil
		case string:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("want a whole number, got %q", v)
			}
			return n, nil
		}
		return nil, fmt.Errorf("want a whole number, got %T", raw)
	case TypeBool:
		switch v := raw.(type) {
		case bool:
			return v, nil
		case string:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("want true or false, got %q", v)
			}
			return b, nil
		}
		return nil, fmt.Errorf("want true or false, got %T", raw)
	case TypeDuration:
		s, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("want a duration such as \"30s\", got %T", raw)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("want a duration such as \"30s\", got %q", s)
		}
		return d, nil
	case TypeStringList:
		switch v := raw.(type) {
		case []any:
			out := make([]string, len(v))
			for i, x := range v {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("item %d: want a string, got %T", i, x)
				}
				out[i] = s
			}
			return out, nil
		case []string:
			return v, nil
		case string:
			if v == "" {
				return []string{}, nil
			}
			var out []string
			if err := json.Unmarshal([]byte(v), &out); err != nil {
				return []string{v}, nil
			}
			return out, nil
		}
		return nil, fmt.Errorf("want a list of strings, got %T", raw)
	}
	return nil, fmt.Errorf("unknown field type %q", f.Type)
}
