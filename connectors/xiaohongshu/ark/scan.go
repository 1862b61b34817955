package ark

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Window is a span of order times, both ends inclusive, in whole seconds.
type Window struct {
	Start, End time.Time
}

// SplitWindow cuts [start, end] into consecutive windows no longer than maxLen,
// in time order: start is rounded down and end up to whole seconds, and
// adjacent windows share their boundary second. Whether the gateway counts
// endTime as inside the window is not documented, so both neighbours ask for
// it and an order stamped exactly on a boundary may come twice (ScanOrders
// drops such repeats). It returns nil when end is before start; maxLen below a
// second counts as a second.
func SplitWindow(start, end time.Time, maxLen time.Duration) []Window {
	from := start.Unix()
	to := end.Unix()
	if end.After(time.Unix(to, 0)) {
		to++
	}
	if to < from {
		return nil
	}
	step := int64(maxLen / time.Second)
	if step < 1 {
		step = 1
	}
	var out []Window
	for s := from; ; s += step {
		e := min(s+step, to)
		out = append(out, Window{Start: time.Unix(s, 0).UTC(), End: time.Unix(e, 0).UTC()})
		if e >= to {
			return out
		}
	}
}

// ErrWindowTooDeep is returned by ScanOrders when a single second holds more
// orders than paging can reach (MaxRowsPerWindow).
var ErrWindowTooDeep = errors.New("more orders in one second than paging can reach")

// ScanRequest asks ScanOrders for every order in a span of time.
type ScanRequest struct {
	Start, End time.Time
	TimeType   TimeType
	// OrderType and OrderStatus filter as in OrderListRequest; 0 means all.
	OrderType   int
	OrderStatus int
	// PageSize is the page size asked for; 0 means MaxPageSize.
	PageSize int
}

// ScanPage is what ScanOrders hands its callback.
type ScanPage struct {
	// Window is the window being read, after splitting.
	Window Window
	// Orders are the page's orders, repeats across a shared window boundary
	// left out. It may be empty when Done is set.
	Orders []OrderSummary
	// Done says every order of Window has now been passed: a checkpoint at
	// Window.End is safe once this page is handled.
	Done bool
}

// ScanOrders reads every order whose TimeType time lies in [req.Start,
// req.End] and passes them to fn page by page, windows in time order. It
// splits the span into windows the platform accepts (SplitWindow with
// TimeType.MaxWindow), halves any window holding more than
// MaxRowsPerWindow orders, pages created-time windows forward and
// updated-time windows from the last page back to the first, as the
// platform advises (an order updated mid-scan then shows up twice rather
// than pushing another out of reach). An order may still come twice; the
// caller keys on OrderID. It stops at the first error from the gateway or
// from fn, and never sleeps or retries.
func (c *Client) ScanOrders(ctx context.Context, accessToken string, req ScanRequest, fn func(ScanPage) error) error {
	if req.TimeType.MaxWindow() == 0 {
		return fmt.Errorf("xiaohongshu %s: %w: timeType %d is not 1 (created) or 2 (updated)", MethodGetOrderList, ErrInvalidRequest, int(req.TimeType))
	}
	if req.Start.IsZero() || req.End.IsZero() || req.End.Before(req.Start) {
		return fmt.Errorf("xiaohongshu %s: %w: scan needs start <= end", MethodGetOrderList, ErrInvalidRequest)
	}
	if req.PageSize == 0 {
		req.PageSize = MaxPageSize
	}
	s := &scanner{c: c, token: accessToken, req: req, fn: fn, next: map[string]bool{}}
	for _, w := range SplitWindow(req.Start, req.End, req.TimeType.MaxWindow()) {
		if err := s.window(ctx, w.Start.Unix(), w.End.Unix()); err != nil {
			return err
		}
	}
	return nil
}

// scanner is the state of one ScanOrders call.
type scanner struct {
	c     *Client
	token string
	req   ScanRequest
	fn    func(ScanPage) error

	hasLast  bool
	lastEnd  int64           // end second of the last window finished
	boundary map[string]bool // orders passed whose time second is lastEnd
	next     map[string]bool // the same for the window being read
}

func (s *scanner) list(ctx context.Context, from, to int64, page int) (*OrderList, error) {
	return s.c.GetOrderList(ctx, s.token, OrderListRequest{
		Start: time.Unix(from, 0), End: time.Unix(to, 0), TimeType: s.req.TimeType,
		OrderType: s.req.OrderType, OrderStatus: s.req.OrderStatus, PageNo: page, PageSize: s.req.PageSize,
	})
}

// window reads [from, to], halving it while it is too deep to page.
func (s *scanner) window(ctx context.Context, from, to int64) error {
	first, err := s.list(ctx, from, to, 1)
	if err != nil {
		return err
	}
	if first.Truncated() {
		switch {
		case to == from:
			return fmt.Errorf("xiaohongshu %s: %w: %d orders at %s", MethodGetOrderList, ErrWindowTooDeep, first.Total, time.Unix(from, 0).UTC().Format(time.RFC3339))
		case to-from == 1:
			if err := s.window(ctx, from, from); err != nil {
				return err
			}
			return s.window(ctx, to, to)
		}
		mid := from + (to-from)/2
		if err := s.window(ctx, from, mid); err != nil {
			return err
		}
		return s.window(ctx, mid, to)
	}
	w := Window{Start: time.Unix(from, 0).UTC(), End: time.Unix(to, 0).UTC()}
	last := first.MaxPageNo
	if size := max(first.PageSize, 1); last == 0 && first.Total > 0 {
		last = min((first.Total+size-1)/size, MaxPageNo)
	}
	emit := func(orders []OrderSummary, done bool) error {
		out := make([]OrderSummary, 0, len(orders))
		for _, o := range orders {
			sec := int64(o.TimeOf(s.req.TimeType)) / 1000
			if sec == from && s.hasLast && from == s.lastEnd && s.boundary[o.OrderID] {
				continue
			}
			if sec == to {
				s.next[o.OrderID] = true
			}
			out = append(out, o)
		}
		if len(out) == 0 && !done {
			return nil
		}
		return s.fn(ScanPage{Window: w, Orders: out, Done: done})
	}
	if last <= 1 {
		if err := emit(first.Orders, true); err != nil {
			return err
		}
	} else if s.req.TimeType == TimeUpdated {
		for p := last; p >= 1; p-- {
			page, err := s.list(ctx, from, to, p)
			if err != nil {
				return err
			}
			if err := emit(page.Orders, p == 1); err != nil {
				return err
			}
		}
	} else {
		if err := emit(first.Orders, false); err != nil {
			return err
		}
		for p := 2; p <= last; p++ {
			page, err := s.list(ctx, from, to, p)
			if err != nil {
				return err
			}
			done := p == last || len(page.Orders) == 0
			if err := emit(page.Orders, done); err != nil {
				return err
			}
			if done {
				break
			}
		}
	}
	s.hasLast, s.lastEnd = true, to
	s.boundary, s.next = s.next, map[string]bool{}
	return nil
}
