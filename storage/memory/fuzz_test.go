package memory_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/storage/memory"
	"github.com/gatehouse/gatehouse/storage/storagetest"
)

// FuzzCursors lists every kind with any cursor: a page or
// storage.ErrInvalidCursor (docs/testing.md).
func FuzzCursors(f *testing.F) { storagetest.FuzzCursors(f, memory.New()) }
