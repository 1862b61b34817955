package mapping_test

import (
	"strings"
	"testing"

	"github.com/channelhub/channelhub/mapping"
)

func TestDouyinOrderStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code int
		want mapping.OrderStatus
		err  string
	}{
		{code: 1, want: mapping.OrderPendingPayment},
		{code: 105, want: mapping.OrderPaid},
		{code: 2, want: mapping.OrderPaid},
		{code: 101, want: mapping.OrderShipped},
		{code: 3, want: mapping.OrderShipped},
		{code: 4, want: mapping.OrderCancelled},
		{code: 5, want: mapping.OrderCompleted},
		{code: 0, want: mapping.OrderUnknown, err: "not known"},
		{code: 6, want: mapping.OrderUnknown, err: "not known"},
		{code: 100, want: mapping.OrderUnknown, err: "not known"},
		{code: -1, want: mapping.OrderUnknown, err: "not known"},
	}
	for _, tt := range tests {
		got, err := mapping.DouyinOrderStatus(tt.code)
		if got != tt.want {
			t.Errorf("DouyinOrderStatus(%d) = %v, want %v", tt.code, got, tt.want)
		}
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("DouyinOrderStatus(%d) error = %v", tt.code, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("DouyinOrderStatus(%d) error = %v, want containing %q", tt.code, err, tt.err)
		}
	}
}
