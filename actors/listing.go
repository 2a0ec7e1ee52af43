package actors

import (
	"path"
	"strings"
)

// maxListed bounds how many entries one listing (/who, /users, /rooms)
// shows: with thousands online, an 8-byte command must not be answered with
// a hundred kilobytes. The listing says how many more there are, and a
// pattern narrows it.
const maxListed = 50

// listingLinesPerLine is how many lines of a listing cost the user as much of
// their flood allowance as one line they send: a listing's output counts
// against the same budget as chat.
const listingLinesPerLine = 10

// matchesPattern reports whether name matches a listing pattern, whatever
// the case: * matches any run of characters and ? any one; a pattern without
// either matches names that contain it. The empty pattern matches all.
func matchesPattern(pattern, name string) bool {
	if pattern == "" {
		return true
	}
	pattern, name = strings.ToLower(pattern), strings.ToLower(name)
	if !strings.ContainsAny(pattern, "*?") {
		return strings.Contains(name, pattern)
	}
	// Only * and ? are special: escape what path.Match would also read.
	pattern = strings.NewReplacer(`\`, `\\`, `[`, `\[`).Replace(pattern)
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}
