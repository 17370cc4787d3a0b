package storage_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

func TestFailureDelay(t *testing.T) {
	s := time.Second
	want := []time.Duration{0, 0, 0, 0, s, 2 * s, 4 * s, 8 * s, 10 * s}
	for n, w := range want {
		if got := storage.FailureDelay(n, 3, s, 10*s); got != w {
			t.Errorf("FailureDelay(%d, 3) = %v, want %v", n, got, w)
		}
	}
	if got := storage.FailureDelay(1_000_000, 3, s, 10*s); got != 10*s {
		t.Errorf("capped, without overflow: got %v", got)
	}
}
