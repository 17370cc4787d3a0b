package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// tokenState measures what the server keeps in Redis: the bench has the
// Redis database to itself (15 by default) and empties it at start.
type tokenState struct {
	rdb *goredis.Client
}

func openTokenState(ctx context.Context, url string) (*tokenState, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	t := &tokenState{rdb: goredis.NewClient(opts)}
	if err := t.rdb.FlushDB(ctx).Err(); err != nil {
		t.rdb.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	return t, nil
}

// usedMemory is Redis's used_memory, in bytes.
func (t *tokenState) usedMemory(ctx context.Context) (int64, error) {
	info, err := t.rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("redis: no used_memory in INFO")
}

// cpu returns Redis's user+system CPU time so far (INFO cpu): Redis runs
// on the same cores, and the scenarios that write token state spend its
// time as much as the server's.
func (t *tokenState) cpu(ctx context.Context) time.Duration {
	info, err := t.rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0
	}
	var secs float64
	for _, line := range strings.Split(info, "\r\n") {
		for _, k := range []string{"used_cpu_user:", "used_cpu_sys:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				f, _ := strconv.ParseFloat(v, 64)
				secs += f
			}
		}
	}
	return time.Duration(secs * float64(time.Second))
}

// perKey returns the number of keys matching pattern and their mean
// MEMORY USAGE over a sample of up to 500.
func (t *tokenState) perKey(ctx context.Context, pattern string) (keys int64, mean float64, err error) {
	var total, sampled int64
	iter := t.rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		keys++
		if sampled < 500 {
			n, err := t.rdb.MemoryUsage(ctx, iter.Val()).Result()
			if err != nil {
				return 0, 0, err
			}
			total += n
			sampled++
		}
	}
	if err := iter.Err(); err != nil {
		return 0, 0, err
	}
	if sampled > 0 {
		mean = float64(total) / float64(sampled)
	}
	return keys, mean, nil
}
