package actors

import (
	"slices"
	"strings"
)

// firstByName is how the registry, the rooms actor and a room answer a
// listing: the entries that matched its pattern, sorted by name whatever the
// case, at most limit of them (0: all), and how many there were.
func firstByName[T any](matched []T, name func(T) string, limit uint32) ([]T, uint32) {
	slices.SortFunc(matched, func(a, b T) int { return strings.Compare(strings.ToLower(name(a)), strings.ToLower(name(b))) })
	n := uint32(len(matched))
	if limit > 0 && n > limit {
		matched = matched[:limit]
	}
	return matched, n
}
