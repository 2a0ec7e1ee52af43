package text

import (
	"strings"
	"unicode/utf8"
)

// Sanitize makes one input line safe to relay to other users' terminals:
//   - invalid UTF-8 becomes U+FFFD;
//   - ANSI/VT escape sequences (CSI, OSC, DCS and the other string controls,
//     and two-byte ESC sequences) are removed whole, and every other control
//     character (C0 except TAB, DEL, C1) is dropped; a TAB becomes a space;
//   - the line and paragraph separators U+2028 and U+2029 become spaces;
//   - invisible characters that could make one name look like another are
//     dropped (see isInvisible);
//   - bidirectional embeddings, overrides and isolates left open are closed
//     at the end of the line, and stray closers are dropped, so no line can
//     reorder what a terminal shows after it.
//
// The result holds no byte that can move a terminal's cursor, change its
// colours or retitle its window. docs/protocol.md lists what is removed.
func Sanitize(p []byte) string { return sanitize(p, false) }

// SanitizeIRC is Sanitize for a line of an IRC client: it keeps \x01, which
// delimits CTCP (an action is "\x01ACTION waves\x01"). The IRC side takes
// the CTCP apart and drops every \x01 before the text goes anywhere.
func SanitizeIRC(p []byte) string { return sanitize(p, true) }

func sanitize(p []byte, keepCTCP bool) string {
	if isPlainPrintable(p) {
		return string(p)
	}
	var b strings.Builder
	b.Grow(len(p))
	var bidi bidiStack
	prev := rune(' ') // the last rune kept
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
			prev = utf8.RuneError
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
		case r == 0x01 && keepCTCP:
			b.WriteByte(0x01)
		case r == '\t' || r == 0x2028 || r == 0x2029:
			b.WriteByte(' ')
			prev = ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			// dropped
		case isInvisible(r, prev):
			// dropped
		case isBidiControl(r):
			if bidi.accept(r) {
				b.WriteRune(r)
			}
		default:
			b.WriteRune(r)
			prev = r
		}
		i += size
	}
	bidi.closeAll(&b)
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

// isInvisible reports whether r, following prev, is a character that shows
// nothing and could make one name or word look like another: zero-width
// spaces and joiners between Latin letters, the soft hyphen, invisible
// operators, the byte order mark, bidi marks, Hangul fillers, and tag
// characters outside an emoji flag. The zero-width joiner and non-joiner are
// kept after a character outside ASCII, where emoji sequences and scripts
// such as Persian and the Indic ones need them; variation selectors are
// kept for emoji.
func isInvisible(r, prev rune) bool {
	switch r {
	case 0x200b, // zero width space
		0x00ad,                 // soft hyphen
		0x034f,                 // combining grapheme joiner
		0x061c, 0x200e, 0x200f, // bidi marks: ALM, LRM, RLM
		0x115f, 0x1160, 0x3164, 0xffa0, // Hangul fillers
		0x180e,                                 // Mongolian vowel separator
		0x2060, 0x2061, 0x2062, 0x2063, 0x2064, // word joiner, invisible operators
		0xfeff: // zero width no-break space (BOM)
		return true
	case 0x200c, 0x200d: // zero width non-joiner, joiner
		return prev < 0x80
	}
	if r >= 0xe0000 && r <= 0xe007f { // tags: only inside a flag sequence (U+1F3F4 and tags)
		return prev != 0x1f3f4 && !(prev >= 0xe0020 && prev <= 0xe007e)
	}
	return false
}

// Bidirectional formatting characters (Unicode UAX #9).
const (
	bidiLRE = 0x202a
	bidiRLE = 0x202b
	bidiPDF = 0x202c // ends an embedding or override
	bidiLRO = 0x202d
	bidiRLO = 0x202e
	bidiLRI = 0x2066
	bidiRLI = 0x2067
	bidiFSI = 0x2068
	bidiPDI = 0x2069 // ends an isolate
)

func isBidiControl(r rune) bool {
	return r >= bidiLRE && r <= bidiRLO || r >= bidiLRI && r <= bidiPDI
}

// maxBidiDepth is the deepest nesting kept, as in UAX #9; openers past it
// are dropped.
const maxBidiDepth = 125

// bidiStack tracks the embeddings, overrides and isolates open in a line.
type bidiStack []rune

// accept reports whether r is kept: an opener (within the depth limit), or a
// closer with something open to close.
func (s *bidiStack) accept(r rune) bool {
	switch r {
	case bidiPDF:
		if n := len(*s); n > 0 && (*s)[n-1] != bidiPDI {
			*s = (*s)[:n-1]
			return true
		}
		return false
	case bidiPDI:
		// Ends the innermost isolate and whatever is open inside it.
		for i := len(*s) - 1; i >= 0; i-- {
			if (*s)[i] == bidiPDI {
				*s = (*s)[:i]
				return true
			}
		}
		return false
	}
	if len(*s) >= maxBidiDepth {
		return false
	}
	closer := rune(bidiPDF)
	if r == bidiLRI || r == bidiRLI || r == bidiFSI {
		closer = bidiPDI
	}
	*s = append(*s, closer)
	return true
}

// closeAll writes the closers of everything still open, innermost first.
func (s *bidiStack) closeAll(b *strings.Builder) {
	for i := len(*s) - 1; i >= 0; i-- {
		b.WriteRune((*s)[i])
	}
	*s = (*s)[:0]
}
