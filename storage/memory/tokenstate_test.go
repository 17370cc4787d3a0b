package memory_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
	"github.com/gatehouse/gatehouse/storage/storagetest"
)

func TestTokenStateConformance(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	storagetest.RunTokenStateTests(t, storagetest.TokenStateHarness{
		New: func(t *testing.T) storage.TokenState { return memory.NewTokenState(clock) },
		Now: clock,
		Advance: func(t *testing.T, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(d)
		},
	})
}
