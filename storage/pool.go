package storage

import "time"

// PoolStats is a snapshot of a backend's connection pool, read when
// metrics are scraped. Counters only grow over the process's life.
type PoolStats struct {
	MaxConns   int // the pool's limit
	TotalConns int // connections open, idle or in use
	IdleConns  int // open connections no request holds

	Acquires uint64        // connections handed out (counter)
	Waits    uint64        // acquisitions that found no free connection and waited (counter)
	WaitTime time.Duration // total time spent waiting (counter)
	// Timeouts counts acquisitions that gave up waiting (counter): the
	// pool is too small or the backend too slow.
	Timeouts uint64
}
