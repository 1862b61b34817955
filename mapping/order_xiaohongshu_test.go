package mapping_test

import (
	"strings"
	"testing"

	"github.com/channelhub/channelhub/mapping"
)

func TestXiaohongshuOrderStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code int
		want mapping.OrderStatus
		err  string
	}{
		{code: 1, want: mapping.OrderPendingPayment},
		{code: 2, want: mapping.OrderPaid},
		{code: 3, want: mapping.OrderPaid},
		{code: 4, want: mapping.OrderPaid},
		{code: 5, want: mapping.OrderShipped},
		{code: 6, want: mapping.OrderShipped},
		{code: 7, want: mapping.OrderCompleted},
		{code: 8, want: mapping.OrderRefunded},
		{code: 9, want: mapping.OrderCancelled},
		{code: 10, want: mapping.OrderRefunding},
		{code: 0, err: "status 0 is not known"},
		{code: 11, err: "status 11 is not known"},
		{code: -1, err: "status -1 is not known"},
	}
	for _, tt := range tests {
		got, err := mapping.XiaohongshuOrderStatus(tt.code)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || got != mapping.OrderUnknown {
				t.Errorf("XiaohongshuOrderStatus(%d) = %v, %v; want unknown and error containing %q", tt.code, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("XiaohongshuOrderStatus(%d) = %v, %v; want %v", tt.code, got, err, tt.want)
		}
	}
}
