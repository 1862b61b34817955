// Package gatewayfault is the fault injection of the sandboxes of
// method-routed commerce gateways (Taobao TOP, Douyin Shop): HTTP 5xx,
// delays, malformed bodies and platform errors, queued per API method.
package gatewayfault

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Kind says what an injected fault does.
type Kind string

// Fault kinds.
const (
	// HTTP5xx answers with HTTP Status (default 503) and a non-JSON body.
	HTTP5xx Kind = "5xx"
	// Delay waits Delay, then serves the request normally (or gives up when
	// the client goes away).
	Delay Kind = "delay"
	// Malformed answers HTTP 200 with a truncated JSON body.
	Malformed Kind = "malformed"
	// Error answers the platform's error envelope with Code, SubCode and
	// SubMsg.
	Error Kind = "error"
)

// Fault is an injected failure for the next Count calls of Method.
type Fault struct {
	// Method is the API method ("taobao.trades.sold.get",
	// "order.searchList"); empty matches any.
	Method string `json:"method,omitempty"`
	Kind   Kind   `json:"kind"`
	// Count is how many calls the fault hits; 0 means 1.
	Count  int `json:"count,omitempty"`
	Status int `json:"status,omitempty"`
	// Delay is for a Delay fault. In JSON it is delay_ms.
	Delay   time.Duration `json:"-"`
	DelayMS int64         `json:"delay_ms,omitempty"`
	Code    int           `json:"code,omitempty"`
	SubCode string        `json:"sub_code,omitempty"`
	SubMsg  string        `json:"sub_msg,omitempty"`
}

// Validate reports what is wrong with f; okCode is the platform's success
// code, which an Error fault must not carry.
func (f Fault) Validate(okCode int) error {
	switch f.Kind {
	case HTTP5xx:
		if f.Status != 0 && (f.Status < 500 || f.Status > 599) {
			return fmt.Errorf("sandbox fault: status %d is not 5xx", f.Status)
		}
	case Delay:
		if f.Delay <= 0 {
			return fmt.Errorf("sandbox fault: delay needs a positive delay")
		}
	case Malformed:
	case Error:
		if f.Code == 0 || f.Code == okCode {
			return fmt.Errorf("sandbox fault: error needs a code other than %d", okCode)
		}
	default:
		return fmt.Errorf("sandbox fault: kind %q is not 5xx, delay, malformed or error", f.Kind)
	}
	if f.Count < 0 {
		return fmt.Errorf("sandbox fault: negative count")
	}
	return nil
}

// Queue holds the pending faults in the order injected. It is not safe for
// concurrent use: the sandbox's own lock guards it.
type Queue struct {
	faults []*Fault
}

// Inject queues f (see Fault.Validate for okCode).
func (q *Queue) Inject(f Fault, okCode int) error {
	if f.Delay == 0 && f.DelayMS > 0 {
		f.Delay = time.Duration(f.DelayMS) * time.Millisecond
	}
	if err := f.Validate(okCode); err != nil {
		return err
	}
	if f.Count == 0 {
		f.Count = 1
	}
	q.faults = append(q.faults, &f)
	return nil
}

// Clear drops every queued fault.
func (q *Queue) Clear() { q.faults = nil }

// Take consumes one hit of the first fault matching method.
func (q *Queue) Take(method string) *Fault {
	for i, f := range q.faults {
		if f.Method != "" && f.Method != method {
			continue
		}
		f.Count--
		if f.Count <= 0 {
			q.faults = append(q.faults[:i:i], q.faults[i+1:]...)
		}
		return f
	}
	return nil
}

// Apply acts out f and reports whether the request should still be served
// normally. malformed is the cut-off body of a Malformed fault; fail writes
// the platform's error reply of an Error fault.
func Apply(w http.ResponseWriter, r *http.Request, f *Fault, malformed string, fail func(http.ResponseWriter, *Fault)) bool {
	switch f.Kind {
	case Delay:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-r.Context().Done():
			return false
		}
	case HTTP5xx:
		status := f.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>", status, http.StatusText(status))
	case Malformed:
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = w.Write([]byte(malformed))
	case Error:
		fail(w, f)
	}
	return false
}

// ServeAdmin serves a sandbox's fault endpoint: POST a Fault as JSON to
// queue it (through inject), DELETE to clear them.
func ServeAdmin(w http.ResponseWriter, r *http.Request, inject func(Fault) error, clear func(), maxBody int64) {
	switch r.Method {
	case http.MethodPost:
		var f Fault
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			http.Error(w, "fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := inject(f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		clear()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
