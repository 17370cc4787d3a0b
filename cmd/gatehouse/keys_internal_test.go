package main

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/storage"
)

func TestRotationDue(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := now.Add(-d); return &t }
	for _, tc := range []struct {
		name string
		keys []storage.SigningKey
		want bool
	}{
		{"no keys", nil, false},
		{"young active key", []storage.SigningKey{{State: storage.KeyStateActive, ActivatedAt: at(23 * time.Hour)}}, false},
		{"active key of exactly the interval", []storage.SigningKey{{State: storage.KeyStateActive, ActivatedAt: at(24 * time.Hour)}}, true},
		{"old active key", []storage.SigningKey{{State: storage.KeyStateActive, ActivatedAt: at(90 * time.Hour)}}, true},
		{"only an old retired key", []storage.SigningKey{{State: storage.KeyStateRetired, ActivatedAt: at(90 * time.Hour)}}, false},
		{"young active beside old retired", []storage.SigningKey{
			{State: storage.KeyStateRetired, ActivatedAt: at(90 * time.Hour)},
			{State: storage.KeyStateActive, ActivatedAt: at(time.Hour)},
		}, false},
	} {
		if got := rotationDue(tc.keys, now, 24*time.Hour); got != tc.want {
			t.Errorf("%s: rotationDue = %v, want %v", tc.name, got, tc.want)
		}
	}
}
