// Package wxfault is the fault injection the WeChat-family sandboxes (the
// official account, mini-program and WeCom) share: HTTP 500/502, delays, malformed JSON and
// errcode replies, queued per API path.
package wxfault

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Kind is what goes wrong in a faulted call.
type Kind string

// The fault kinds.
const (
	// HTTP500 answers HTTP 500 with a short text body.
	HTTP500 Kind = "http_500"
	// HTTP502 answers HTTP 502 with an HTML body, as a gateway does.
	HTTP502 Kind = "http_502"
	// Delay holds the call for Fault.Delay (or until the client hangs
	// up), then serves it normally: it makes client timeouts fire.
	Delay Kind = "delay"
	// Malformed answers HTTP 200 with a truncated JSON body.
	Malformed Kind = "malformed_json"
	// ErrCode answers HTTP 200 with {"errcode": Fault.ErrCode, ...},
	// e.g. -1, 45009, 45011, 40001, 42001 (WeChat), 45033, 40014 (WeCom).
	ErrCode Kind = "errcode"
)

// Fault is a failure injected into the next calls of one path. Its JSON form
// (also the body of POST /sandbox/faults, plus a "path" key) is
//
//	{"kind": "errcode", "times": 2, "errcode": 45009, "errmsg": "optional"}
//	{"kind": "delay", "delay": "1.5s"}
//	{"kind": "http_502", "times": -1}
//
// with delay as a Go duration string.
type Fault struct {
	// Kind is what happens.
	Kind Kind
	// Times is how many calls the fault hits: 0 means 1; a negative value
	// means every call until ClearFaults.
	Times int
	// Delay is how long a Delay holds the call.
	Delay time.Duration
	// ErrCode is the errcode of a ErrCode (must not be 0).
	ErrCode int
	// ErrMsg is its errmsg; empty means the platform's text for the code.
	ErrMsg string
}

// faultJSON is Fault on the wire.
type faultJSON struct {
	Kind    Kind   `json:"kind"`
	Times   int    `json:"times,omitempty"`
	Delay   string `json:"delay,omitempty"`
	ErrCode int    `json:"errcode,omitempty"`
	ErrMsg  string `json:"errmsg,omitempty"`
}

// MarshalJSON encodes f in the form shown on Fault.
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Kind: f.Kind, Times: f.Times, ErrCode: f.ErrCode, ErrMsg: f.ErrMsg}
	if f.Delay != 0 {
		j.Delay = f.Delay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the form shown on Fault; unknown keys (such as
// "path") are ignored.
func (f *Fault) UnmarshalJSON(data []byte) error {
	var j faultJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	var d time.Duration
	if j.Delay != "" {
		var err error
		if d, err = time.ParseDuration(j.Delay); err != nil {
			return fmt.Errorf("fault delay: %w", err)
		}
	}
	*f = Fault{Kind: j.Kind, Times: j.Times, Delay: d, ErrCode: j.ErrCode, ErrMsg: j.ErrMsg}
	return nil
}

// Validate reports what is wrong with f, if anything.
func (f Fault) Validate() error {
	switch f.Kind {
	case HTTP500, HTTP502, Malformed:
	case Delay:
		if f.Delay <= 0 {
			return errors.New("a delay fault needs a positive delay")
		}
	case ErrCode:
		if f.ErrCode == 0 {
			return errors.New("an errcode fault needs a non-zero errcode")
		}
	default:
		return fmt.Errorf("fault kind %q is not one of http_500, http_502, delay, malformed_json, errcode", f.Kind)
	}
	return nil
}

// AnyPath, given to Inject, makes a fault hit calls to any API path. Faults
// for the exact path go first.
const AnyPath = "*"

// Queue holds the pending faults per path. It is not safe for concurrent
// use: the sandbox's own lock guards it.
type Queue struct {
	m map[string][]Fault
}

// Inject queues f for the next calls to path (or AnyPath). Faults for one
// path run one after another in the order injected.
func (q *Queue) Inject(path string, f Fault) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if f.Times == 0 {
		f.Times = 1
	}
	if q.m == nil {
		q.m = map[string][]Fault{}
	}
	q.m[path] = append(q.m[path], f)
	return nil
}

// Clear drops every pending fault.
func (q *Queue) Clear() { clear(q.m) }

// Take uses up one hit of the fault due for path.
func (q *Queue) Take(path string) (Fault, bool) {
	for _, key := range []string{path, AnyPath} {
		pending := q.m[key]
		if len(pending) == 0 {
			continue
		}
		f := pending[0]
		if pending[0].Times > 0 {
			pending[0].Times--
			if pending[0].Times == 0 {
				pending = pending[1:]
			}
		}
		if len(pending) == 0 {
			delete(q.m, key)
		} else {
			q.m[key] = pending
		}
		return f, true
	}
	return Fault{}, false
}

// Apply carries out f and reports whether the call should go on (after a
// delay). malformed is the cut-off body of a Malformed reply; fail writes
// an errcode reply.
func Apply(w http.ResponseWriter, r *http.Request, f Fault, contentType, malformed string, fail func(w http.ResponseWriter, code int, msg string)) bool {
	switch f.Kind {
	case HTTP500:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
	case HTTP502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"))
	case Malformed:
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(malformed))
	case ErrCode:
		fail(w, f.ErrCode, f.ErrMsg)
	case Delay:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-r.Context().Done():
		}
	}
	return false
}

// DecodeInjection reads the body of POST /sandbox/faults: a Fault in its
// JSON form plus a "path" key naming the API path (or AnyPath). The error
// names what is wrong, for an HTTP 400.
func DecodeInjection(r *http.Request, maxBody int64) (string, Fault, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return "", Fault{}, fmt.Errorf("reading the fault: %w", err)
	}
	var where struct {
		Path string `json:"path"`
	}
	var f Fault
	if err := json.Unmarshal(data, &where); err != nil {
		return "", Fault{}, fmt.Errorf("fault JSON: %w", err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return "", Fault{}, fmt.Errorf("fault JSON: %w", err)
	}
	if err := f.Validate(); err != nil {
		return "", Fault{}, err
	}
	if where.Path != AnyPath && !strings.HasPrefix(where.Path, "/") {
		return "", Fault{}, errors.New(`fault "path" must be an API path (starting with "/"), or "*"`)
	}
	return where.Path, f, nil
}
