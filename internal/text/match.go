package text

import (
	"path"
	"strings"
)

// IsNickByte reports whether c may appear in a nick: ASCII letters, digits,
// '_', '-' and '.'.
func IsNickByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// MatchPattern reports whether name matches a listing pattern, whatever the
// case: * matches any run of characters and ? any one; a pattern without
// either matches names that contain it. The empty pattern matches all.
func MatchPattern(pattern, name string) bool {
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
