package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// FaultKind says what an injected fault does.
type FaultKind string

// Fault kinds.
const (
	// FaultHTTP5xx answers with HTTP Status (default 503) and a non-JSON body.
	FaultHTTP5xx FaultKind = "5xx"
	// FaultDelay waits Delay, then serves the request normally (or gives up
	// when the client goes away).
	FaultDelay FaultKind = "delay"
	// FaultMalformed answers HTTP 200 with a truncated JSON body.
	FaultMalformed FaultKind = "malformed"
	// FaultError answers error_response with Code, SubCode and SubMsg (e.g.
	// 7 accesscontrol.limited-by-api-access-count "This ban will last for 2
	// more seconds", 15 isp.unknown-error, or 27 invalid-sessionkey).
	FaultError FaultKind = "error"
)

// Fault is an injected failure for the next Count calls of Method.
type Fault struct {
	// Method is the API method ("taobao.trades.sold.get"); empty matches any.
	Method string    `json:"method,omitempty"`
	Kind   FaultKind `json:"kind"`
	// Count is how many calls the fault hits; 0 means 1.
	Count  int `json:"count,omitempty"`
	Status int `json:"status,omitempty"`
	// Delay is for FaultDelay. In JSON it is delay_ms.
	Delay   time.Duration `json:"-"`
	DelayMS int64         `json:"delay_ms,omitempty"`
	Code    int           `json:"code,omitempty"`
	SubCode string        `json:"sub_code,omitempty"`
	SubMsg  string        `json:"sub_msg,omitempty"`
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultHTTP5xx:
		if f.Status != 0 && (f.Status < 500 || f.Status > 599) {
			return fmt.Errorf("sandbox fault: status %d is not 5xx", f.Status)
		}
	case FaultDelay:
		if f.Delay <= 0 {
			return fmt.Errorf("sandbox fault: delay needs a positive delay")
		}
	case FaultMalformed:
	case FaultError:
		if f.Code <= 0 {
			return fmt.Errorf("sandbox fault: error needs a positive code")
		}
	default:
		return fmt.Errorf("sandbox fault: kind %q is not 5xx, delay, malformed or error", f.Kind)
	}
	if f.Count < 0 {
		return fmt.Errorf("sandbox fault: negative count")
	}
	return nil
}

// InjectFault queues f: the next f.Count API calls matching f.Method fail
// as f says. Faults apply in the order queued, before the QPS limit and the
// router checks.
func (s *Server) InjectFault(f Fault) error {
	if f.Delay == 0 && f.DelayMS > 0 {
		f.Delay = time.Duration(f.DelayMS) * time.Millisecond
	}
	if err := f.validate(); err != nil {
		return err
	}
	if f.Count == 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
	return nil
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault consumes one hit of the first fault matching method. s.mu is held.
func (s *Server) takeFault(method string) *Fault {
	for i, f := range s.faults {
		if f.Method != "" && f.Method != method {
			continue
		}
		f.Count--
		if f.Count <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return f
	}
	return nil
}

// applyFault acts out f; it reports whether the request should still be
// served normally.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault, method string) bool {
	switch f.Kind {
	case FaultDelay:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-r.Context().Done():
			return false
		}
	case FaultHTTP5xx:
		status := f.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>", status, http.StatusText(status))
	case FaultMalformed:
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = w.Write([]byte(`{"trades":[{"tid":40`))
	case FaultError:
		s.mu.Lock()
		body := s.reply(method, true, nil, &apiErr{code: f.Code, msg: codeMsg(f.Code), subCode: f.SubCode, subMsg: f.SubMsg})
		s.mu.Unlock()
		writeJSON(w, body)
	}
	return false
}

// serveFaults is the admin endpoint: POST queues a Fault (JSON), DELETE
// clears the queue.
func (s *Server) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		var f Fault
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			http.Error(w, "fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := s.InjectFault(f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
