package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// FaultKind is what goes wrong in a faulted call.
type FaultKind string

// The fault kinds.
const (
	// FaultHTTP500 answers HTTP 500 with a short text body.
	FaultHTTP500 FaultKind = "http_500"
	// FaultHTTP502 answers HTTP 502 with an HTML body, as a gateway does.
	FaultHTTP502 FaultKind = "http_502"
	// FaultDelay holds the call for Fault.Delay (or until the client hangs
	// up), then serves it normally: it makes client timeouts fire.
	FaultDelay FaultKind = "delay"
	// FaultMalformed answers HTTP 200 with a truncated JSON body.
	FaultMalformed FaultKind = "malformed_json"
	// FaultErrCode answers HTTP 200 with {"errcode": Fault.ErrCode, ...},
	// e.g. -1, 45009, 45033, 40014, 42001.
	FaultErrCode FaultKind = "errcode"
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
	Kind FaultKind
	// Times is how many calls the fault hits: 0 means 1; a negative value
	// means every call until ClearFaults.
	Times int
	// Delay is how long a FaultDelay holds the call.
	Delay time.Duration
	// ErrCode is the errcode of a FaultErrCode (must not be 0).
	ErrCode int
	// ErrMsg is its errmsg; empty means WeCom's text for the code; the hint suffix
	// is appended either way.
	ErrMsg string
}

// faultJSON is Fault on the wire.
type faultJSON struct {
	Kind    FaultKind `json:"kind"`
	Times   int       `json:"times,omitempty"`
	Delay   string    `json:"delay,omitempty"`
	ErrCode int       `json:"errcode,omitempty"`
	ErrMsg  string    `json:"errmsg,omitempty"`
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
	case FaultHTTP500, FaultHTTP502, FaultMalformed:
	case FaultDelay:
		if f.Delay <= 0 {
			return errors.New("a delay fault needs a positive delay")
		}
	case FaultErrCode:
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

// Inject queues f for the next calls to path (e.g. "/cgi-bin/externalcontact/batch/get_by_user", or
// AnyPath). Faults for one path run one after another in the order
// injected. It panics if f is invalid (see Validate): that is a bug in the
// test calling it.
func (s *Server) Inject(path string, f Fault) {
	if err := f.Validate(); err != nil {
		panic("sandbox: Inject(" + path + "): " + err.Error())
	}
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], f)
}

// ClearFaults drops every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// takeFault uses up one hit of the fault due for path. Guarded by mu.
func (s *Server) takeFault(path string) (Fault, bool) {
	for _, key := range []string{path, AnyPath} {
		q := s.faults[key]
		if len(q) == 0 {
			continue
		}
		f := q[0]
		if q[0].Times > 0 {
			q[0].Times--
			if q[0].Times == 0 {
				q = q[1:]
			}
		}
		if len(q) == 0 {
			delete(s.faults, key)
		} else {
			s.faults[key] = q
		}
		return f, true
	}
	return Fault{}, false
}

// applyFault carries out f and reports whether the call should go on.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch f.Kind {
	case FaultHTTP500:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
	case FaultHTTP502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"))
	case FaultMalformed:
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok","external_contact_list":[`))
	case FaultErrCode:
		s.failMsg(w, f.ErrCode, f.ErrMsg)
	case FaultDelay:
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
