package sandbox

import (
	"net/http"
	"time"
)

// FaultKind is what goes wrong in a faulted call.
type FaultKind string

// The fault kinds.
const (
	// FaultErrCode answers HTTP 200 with {"errcode": Fault.ErrCode, …}: -1,
	// 40001, 42001, 45009, 45011…
	FaultErrCode FaultKind = "errcode"
	// FaultHTTP500 answers HTTP 500.
	FaultHTTP500 FaultKind = "http_500"
	// FaultMalformed answers HTTP 200 with truncated JSON.
	FaultMalformed FaultKind = "malformed_json"
	// FaultDelay holds the call for Fault.Delay (or until the client hangs
	// up), then serves it.
	FaultDelay FaultKind = "delay"
)

// Fault is a failure injected into the next calls of one path.
type Fault struct {
	Kind FaultKind `json:"kind"`
	// Times is how many calls it hits: 0 means 1, negative means every call
	// until ClearFaults.
	Times   int           `json:"times,omitempty"`
	ErrCode int           `json:"errcode,omitempty"`
	Delay   time.Duration `json:"delay,omitempty"`
}

// AnyPath, given to Inject, makes a fault hit any API path.
const AnyPath = "*"

// Inject queues f for the next calls to path (e.g. PathOrderList, or
// AnyPath). It panics on an errcode fault without a code: a bug in the test.
func (s *Server) Inject(path string, f Fault) {
	if f.Kind == FaultErrCode && f.ErrCode == 0 {
		panic("sandbox: Inject: an errcode fault needs an errcode")
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
	case FaultMalformed:
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok","order_list":[`))
	case FaultErrCode:
		s.fail(w, f.ErrCode, "")
	case FaultDelay:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-r.Context().Done():
		}
	default:
		return true
	}
	return false
}
