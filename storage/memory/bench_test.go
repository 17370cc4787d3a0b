package memory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/storage"
	"github.com/gatehouse/gatehouse/storage/memory"
)

// BenchmarkUserResourcesInDeepTree measures the effective-resources
// computation (storage.Effective, as both stores run it) for a user deep
// in a large tree: 8 levels of contexts with fan-out 3 (9,840 contexts,
// plus 160 more roots: 10,000), 100 groups in inclusion chains of 5, and
// a membership at every level of the user's path plus 50 elsewhere.
func BenchmarkUserResourcesInDeepTree(b *testing.B) {
	ctx := context.Background()
	a := storage.System("bench")
	r := storage.DefaultRealm
	s := memory.New()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	var groups []storage.Group
	for i := range 100 {
		res := fmt.Sprintf("res-%03d", i)
		_, err := s.CreateResource(ctx, a, r, storage.Resource{Name: res})
		must(err)
		g := storage.Group{Name: fmt.Sprintf("g%03d", i), Resources: []string{res, "users-read"}}
		if i%5 != 0 {
			g.Includes = []string{groups[i-1].ID}
		}
		g, err = s.CreateGroup(ctx, a, r, g)
		must(err)
		groups = append(groups, g)
	}
	var level []string
	count := 0
	for depth := range 8 {
		var next []string
		parents := level
		if depth == 0 {
			parents = []string{""}
		}
		for _, p := range parents {
			for k := range 3 {
				id := fmt.Sprintf("c%d-%d", depth, len(next)+k)
				_, err := s.CreateContext(ctx, a, r, storage.Context{ID: id, Name: id, ParentID: p})
				must(err)
				count++
			}
			next = append(next, fmt.Sprintf("c%d-%d", depth, len(next)), fmt.Sprintf("c%d-%d", depth, len(next)+1), fmt.Sprintf("c%d-%d", depth, len(next)+2))
		}
		level = next
	}
	for ; count < 10_000; count++ {
		id := fmt.Sprintf("extra-%d", count)
		_, err := s.CreateContext(ctx, a, r, storage.Context{ID: id, Name: id})
		must(err)
	}
	u, err := s.CreateUser(ctx, a, r, storage.User{Username: "deep", Language: "en", Status: storage.StatusActive}, []string{groups[4].ID})
	must(err)
	leaf := level[len(level)-1]
	path, err := s.ContextPath(ctx, r, leaf)
	must(err)
	for i, c := range path {
		must(s.AddGroupMemberIn(ctx, a, r, c, groups[10+i*5+4].ID, u.ID))
	}
	for i := range 50 {
		must(s.AddGroupMemberIn(ctx, a, r, level[i], groups[i].ID, u.ID))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		eff, err := s.UserResourcesIn(ctx, r, u.ID, leaf)
		if err != nil || len(eff) == 0 {
			b.Fatal(err, len(eff))
		}
	}
}
