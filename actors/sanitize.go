package actors

import (
	"strings"
	"unicode/utf8"
)

// sanitizeLine makes one input line safe to relay to other users' terminals:
// invalid UTF-8 becomes U+FFFD, ANSI/VT escape sequences (CSI, OSC, DCS and
// the other string controls, and two-byte ESC sequences) are removed whole,
// and every other control character (C0 except TAB, DEL, C1) is dropped. A
// TAB becomes a space. The result holds no byte that can move a terminal's
// cursor, change its colours or retitle its window.
func sanitizeLine(p []byte) string {
	if isPlainPrintable(p) {
		return string(p)
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
		case r == 0x1b: // ESC
			i += size
			i += skipEscape(p[i:])
			continue
		case r == 0x9b: // C1 CSI
			i += size
			i += skipCSI(p[i:])
			continue
		case r == 0x90 || r == 0x9d || r == 0x98 || r == 0x9e || r == 0x9f: // C1 DCS, OSC, SOS, PM, APC
			i += size
			i += skipString(p[i:])
			continue
		case r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			// dropped
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// isPlainPrintable reports whether p is printable ASCII only, the common case
// that needs no work.
func isPlainPrintable(p []byte) bool {
	for _, c := range p {
		if c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// skipEscape returns how many bytes after an ESC belong to its sequence.
func skipEscape(p []byte) int {
	if len(p) == 0 {
		return 0
	}
	switch p[0] {
	case '[':
		return 1 + skipCSI(p[1:])
	case ']', 'P', 'X', '^', '_': // OSC, DCS, SOS, PM, APC: strings ended by BEL or ST
		return 1 + skipString(p[1:])
	}
	// ESC followed by intermediates (0x20-0x2f) and one final byte (0x30-0x7e).
	n := 0
	for n < len(p) && p[n] >= 0x20 && p[n] <= 0x2f {
		n++
	}
	if n < len(p) && p[n] >= 0x30 && p[n] <= 0x7e {
		n++
	}
	return n
}

// skipCSI returns the length of a control sequence's parameters,
// intermediates and final byte (0x40-0x7e). A sequence cut short by the end
// of the line, or broken by another byte, ends there.
func skipCSI(p []byte) int {
	for n, c := range p {
		switch {
		case c >= 0x20 && c <= 0x3f: // parameters and intermediates
		case c >= 0x40 && c <= 0x7e: // final byte
			return n + 1
		default:
			return n
		}
	}
	return len(p)
}

// skipString returns the length of a control string up to and including its
// terminator: BEL, ESC \ or C1 ST. An unterminated string runs to the end of
// the line, so nothing of it reaches another terminal.
func skipString(p []byte) int {
	for n := 0; n < len(p); n++ {
		switch p[n] {
		case 0x07:
			return n + 1
		case 0x1b:
			if n+1 < len(p) && p[n+1] == '\\' {
				return n + 2
			}
			return n + 1
		case 0xc2:
			if n+1 < len(p) && p[n+1] == 0x9c { // U+009C ST
				return n + 2
			}
		}
	}
	return len(p)
}
