package storage

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// GroupGrants is what a group contributes to effective resources.
type GroupGrants struct {
	AllResources bool
	Resources    []string
	Includes     []string
}

// Effective computes what memberships grant: for each membership (already
// chosen to apply where the question is asked), the group's resources and
// those of every group it includes, at most MaxInclusionDepth steps down,
// each with every path that grants it. groups must hold every group the
// walk reaches (a missing one grants nothing); all is every resource of
// the realm, read only when an AllResources group is reached. Both stores
// compute effective resources here, so that they cannot drift apart.
func Effective(memberships []Membership, groups map[string]GroupGrants, all []string) []EffectiveResource {
	byName := map[string]*EffectiveResource{}
	var chain []string
	var walk func(ctxID, id string)
	walk = func(ctxID, id string) {
		if len(chain) > MaxInclusionDepth || slices.Contains(chain, id) {
			return
		}
		g, ok := groups[id]
		if !ok {
			return
		}
		chain = append(chain, id)
		res := g.Resources
		if g.AllResources {
			res = all
		}
		for _, name := range res {
			e := byName[name]
			if e == nil {
				e = &EffectiveResource{Name: name}
				byName[name] = e
			}
			e.Groups = append(e.Groups, chain[0])
			e.Paths = append(e.Paths, GrantPath{Context: ctxID, Chain: slices.Clone(chain)})
		}
		for _, inc := range g.Includes {
			walk(ctxID, inc)
		}
		chain = chain[:len(chain)-1]
	}
	for _, m := range memberships {
		walk(m.ContextID, m.GroupID)
	}
	out := make([]EffectiveResource, 0, len(byName))
	for _, e := range byName {
		slices.Sort(e.Groups)
		e.Groups = slices.Compact(e.Groups)
		slices.SortFunc(e.Paths, comparePaths)
		e.Paths = slices.CompactFunc(e.Paths, func(a, b GrantPath) bool { return comparePaths(a, b) == 0 })
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b EffectiveResource) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func comparePaths(a, b GrantPath) int {
	if c := cmp.Compare(a.Context, b.Context); c != 0 {
		return c
	}
	return slices.Compare(a.Chain, b.Chain)
}

// CheckInclusion returns an error wrapping ErrHierarchy if the inclusion
// graph (group id → included ids) has a cycle or a chain longer than
// MaxInclusionDepth steps. Stores call it on the graph as a change would
// leave it, inside the change.
func CheckInclusion(includes map[string][]string) error {
	// depth memoises the longest chain below each group; onPath finds
	// cycles.
	depth := map[string]int{}
	onPath := map[string]bool{}
	var visit func(id string) (int, error)
	visit = func(id string) (int, error) {
		if d, ok := depth[id]; ok {
			return d, nil
		}
		if onPath[id] {
			return 0, fmt.Errorf("group %s includes itself: %w", id, ErrHierarchy)
		}
		onPath[id] = true
		d := 0
		for _, inc := range includes[id] {
			below, err := visit(inc)
			if err != nil {
				return 0, err
			}
			d = max(d, below+1)
		}
		onPath[id] = false
		if d > MaxInclusionDepth {
			return 0, fmt.Errorf("group %s includes groups %d deep, more than %d: %w", id, d, MaxInclusionDepth, ErrHierarchy)
		}
		depth[id] = d
		return d, nil
	}
	for id := range includes {
		if _, err := visit(id); err != nil {
			return err
		}
	}
	return nil
}

// ResourceNamesOf returns the names of effective resources, in order.
func ResourceNamesOf(eff []EffectiveResource) []string {
	names := make([]string, len(eff))
	for i, r := range eff {
		names[i] = r.Name
	}
	return names
}
