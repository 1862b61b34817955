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
	// FaultHTTP503 answers HTTP 503 with a short text body.
	FaultHTTP503 FaultKind = "http_503"
	// FaultDelay holds the call for Fault.Delay (or until the client hangs
	// up), then serves it normally: it makes client timeouts fire.
	FaultDelay FaultKind = "delay"
	// FaultMalformed answers HTTP 200 with a truncated JSON body.
	FaultMalformed FaultKind = "malformed_json"
	// FaultErrorCode answers HTTP 200 with {"success":false,"error_code":
	// Fault.ErrorCode}, e.g. ark.CodeThrottled, ark.CodeServerError,
	// ark.CodeAccessTokenInvalid.
	FaultErrorCode FaultKind = "error_code"
)

// Fault is a failure injected into the next calls of one API method. Its
// JSON form (also the body of POST /sandbox/faults, plus a "method" key) is
//
//	{"kind": "error_code", "times": 2, "error_code": -1000429, "error_msg": "optional"}
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
	// ErrorCode is the error_code of a FaultErrorCode (must not be 0).
	ErrorCode int
	// ErrorMsg is its error_msg; empty means "sandbox fault".
	ErrorMsg string
}

// faultJSON is Fault on the wire.
type faultJSON struct {
	Kind      FaultKind `json:"kind"`
	Times     int       `json:"times,omitempty"`
	Delay     string    `json:"delay,omitempty"`
	ErrorCode int       `json:"error_code,omitempty"`
	ErrorMsg  string    `json:"error_msg,omitempty"`
}

// MarshalJSON encodes f in the form shown on Fault.
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Kind: f.Kind, Times: f.Times, ErrorCode: f.ErrorCode, ErrorMsg: f.ErrorMsg}
	if f.Delay != 0 {
		j.Delay = f.Delay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the form shown on Fault; unknown keys (such as
// "method") are ignored.
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
	*f = Fault{Kind: j.Kind, Times: j.Times, Delay: d, ErrorCode: j.ErrorCode, ErrorMsg: j.ErrorMsg}
	return nil
}

// Validate reports what is wrong with f, if anything.
func (f Fault) Validate() error {
	switch f.Kind {
	case FaultHTTP500, FaultHTTP502, FaultHTTP503, FaultMalformed:
	case FaultDelay:
		if f.Delay <= 0 {
			return errors.New("a delay fault needs a positive delay")
		}
	case FaultErrorCode:
		if f.ErrorCode == 0 {
			return errors.New("an error_code fault needs a non-zero error_code")
		}
	default:
		return fmt.Errorf("fault kind %q is not one of http_500, http_502, http_503, delay, malformed_json, error_code", f.Kind)
	}
	return nil
}

// AnyMethod, given to Inject, makes a fault hit calls of any method. Faults
// for the exact method go first.
const AnyMethod = "*"

// Inject queues f for the next calls of method (e.g. "order.getOrderList",
// or AnyMethod). Faults for one method run one after another in the order
// injected. A faulted call is counted in Stats but meets no other check. It
// returns Validate's error for an invalid fault.
func (s *Server) Inject(method string, f Fault) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("sandbox: fault for %q: %w", method, err)
	}
	if method == "" {
		return errors.New(`sandbox: a fault needs a method (or "*")`)
	}
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method] = append(s.faults[method], f)
	return nil
}

// ClearFaults drops every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// takeFault uses up one hit of the fault due for method. Guarded by mu.
func (s *Server) takeFault(method string) (Fault, bool) {
	for _, key := range []string{method, AnyMethod} {
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
	case FaultHTTP503:
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
	case FaultHTTP502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"))
	case FaultMalformed:
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"success":true,"error_code":0,"data":{"total":`))
	case FaultErrorCode:
		msg := f.ErrorMsg
		if msg == "" {
			msg = "sandbox fault"
		}
		s.fail(w, f.ErrorCode, msg)
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
