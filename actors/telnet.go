package actors

import "unicode/utf8"

// Telnet command bytes (RFC 854) that the decoder acts on.
const (
	telnetSE   = 240 // end of subnegotiation
	telnetNOP  = 241
	telnetDM   = 242 // data mark
	telnetBRK  = 243 // break: what some clients send on Ctrl-C
	telnetIP   = 244 // interrupt process: what telnet sends on Ctrl-C
	telnetAO   = 245 // abort output
	telnetAYT  = 246 // are you there
	telnetEC   = 247 // erase character
	telnetEL   = 248 // erase line
	telnetGA   = 249 // go ahead
	telnetSB   = 250 // start of subnegotiation
	telnetWILL = 251
	telnetWONT = 252
	telnetDO   = 253
	telnetDONT = 254
	telnetIAC  = 255 // "interpret as command"
)

// decoderState is where the decoder is inside the telnet byte stream.
type decoderState uint8

const (
	stateData   decoderState = iota // plain line bytes
	stateIAC                        // after IAC
	stateOption                     // after IAC WILL/WONT/DO/DONT, the option byte is next
	stateSB                         // inside a subnegotiation
	stateSBIAC                      // IAC inside a subnegotiation
)

// decodeEvent is what one call of lineDecoder.feed reports, in input order.
type decodeEvent struct {
	kind decodeEventKind
	line []byte // for eventLine; valid only until the next feed
}

type decodeEventKind uint8

const (
	eventLine      decodeEventKind = iota + 1 // a complete line, without its line end
	eventTooLong                              // a line passed the limit; its bytes up to the next line end are discarded
	eventInterrupt                            // IAC IP or IAC BRK
	eventOverflow                             // the discarded part of a too-long line passed maxDiscard
)

// maxDiscard is how many bytes of one too-long line the decoder throws away
// before it reports eventOverflow: nobody types a megabyte without a line end.
const maxDiscard = 1 << 20

// lineDecoder turns the bytes a telnet (or nc) client sends into lines. It
// consumes telnet commands and option negotiation, answers option requests by
// refusing them (so a telnet client stays in its default line mode with local
// echo), applies backspace/DEL and IAC EC/EL editing, and ends a line at
// CR LF, CR NUL, bare LF or bare CR, wherever the bytes are split between
// reads. It never holds more than maxLine bytes of a line.
//
// It is a pure state machine, owned by one reader goroutine.
type lineDecoder struct {
	maxLine int // longest line in bytes; a longer one is discarded

	line     []byte       // the line so far
	arena    []byte       // completed lines of the current feed call
	state    decoderState // position in the telnet stream
	verb     byte         // WILL/WONT/DO/DONT waiting for its option byte
	afterCR  bool         // the last data byte was CR: a following LF or NUL belongs to it
	tooLong  bool         // the current line passed maxLine; discard until its end
	discard  int          // bytes of the current too-long line thrown away
	replies  []byte       // negotiation replies to send back, taken by takeReplies
	events   []decodeEvent
	refusals int // option replies sent so far; bounded so a peer cannot make us echo forever
}

// maxRefusals bounds how many option refusals the decoder sends on one
// connection: a real client negotiates a handful of options once, and a peer
// that keeps asking gets no more answers rather than an amplifier.
const maxRefusals = 64

func newLineDecoder(maxLine int) *lineDecoder {
	return &lineDecoder{maxLine: maxLine}
}

// feed decodes p and returns the events it completed. The returned slice and
// the lines in it are reused by the next call.
func (d *lineDecoder) feed(p []byte) []decodeEvent {
	d.events = d.events[:0]
	d.arena = d.arena[:0]
	for _, b := range p {
		switch d.state {
		case stateData:
			d.dataByte(b)
		case stateIAC:
			d.command(b)
		case stateOption:
			d.option(b)
		case stateSB:
			if b == telnetIAC {
				d.state = stateSBIAC
			}
		case stateSBIAC:
			switch b {
			case telnetSE:
				d.state = stateData
			default: // IAC IAC inside SB is an escaped 255; anything else stays in SB
				d.state = stateSB
			}
		}
	}
	return d.events
}

// takeReplies returns the negotiation bytes to send back and forgets them.
func (d *lineDecoder) takeReplies() []byte {
	r := d.replies
	d.replies = nil
	return r
}

func (d *lineDecoder) dataByte(b byte) {
	afterCR := d.afterCR
	d.afterCR = false
	switch b {
	case telnetIAC:
		d.afterCR = afterCR // a command between CR and LF does not split the line end
		d.state = stateIAC
	case '\r':
		d.endLine()
		d.afterCR = true
	case '\n':
		if !afterCR {
			d.endLine()
		}
	case 0:
		// CR NUL is a line end already counted; a lone NUL is noise.
	case '\b', 0x7f:
		d.eraseChar()
	default:
		d.appendByte(b)
	}
}

func (d *lineDecoder) command(b byte) {
	d.state = stateData
	switch b {
	case telnetIAC: // IAC IAC is a literal 255 byte
		d.appendByte(b)
	case telnetWILL, telnetWONT, telnetDO, telnetDONT:
		d.verb = b
		d.state = stateOption
	case telnetSB:
		d.state = stateSB
	case telnetIP, telnetBRK:
		d.line = d.line[:0]
		d.tooLong = false
		d.discard = 0
		d.events = append(d.events, decodeEvent{kind: eventInterrupt})
	case telnetEC:
		d.eraseChar()
	case telnetEL:
		d.line = d.line[:0]
	case telnetAYT:
		d.reply([]byte("[yes]\r\n"))
	default: // NOP, DM, AO, GA, SE out of place: nothing to do
	}
}

// option answers IAC <verb> <option>. The server enables no option, so it
// refuses every request to enable one and, as RFC 854 asks, says nothing to a
// request to disable what is already off.
func (d *lineDecoder) option(opt byte) {
	d.state = stateData
	switch d.verb {
	case telnetDO:
		d.reply([]byte{telnetIAC, telnetWONT, opt})
	case telnetWILL:
		d.reply([]byte{telnetIAC, telnetDONT, opt})
	}
}

func (d *lineDecoder) reply(p []byte) {
	if d.refusals >= maxRefusals {
		return
	}
	d.refusals++
	d.replies = append(d.replies, p...)
}

func (d *lineDecoder) appendByte(b byte) {
	if d.tooLong {
		d.discard++
		if d.discard == maxDiscard {
			d.events = append(d.events, decodeEvent{kind: eventOverflow})
		}
		return
	}
	if len(d.line) >= d.maxLine {
		d.tooLong = true
		d.discard = len(d.line) + 1
		d.line = d.line[:0]
		d.events = append(d.events, decodeEvent{kind: eventTooLong})
		return
	}
	d.line = append(d.line, b)
}

// eraseChar removes the last character (a whole UTF-8 sequence) of the line.
func (d *lineDecoder) eraseChar() {
	if len(d.line) == 0 || d.tooLong {
		return
	}
	_, size := utf8.DecodeLastRune(d.line)
	d.line = d.line[:len(d.line)-size]
}

func (d *lineDecoder) endLine() {
	if d.tooLong {
		d.tooLong = false
		d.discard = 0
		d.line = d.line[:0]
		return
	}
	// The event points into the arena, so the line buffer can start over and
	// the event stays valid until the next feed.
	start := len(d.arena)
	d.arena = append(d.arena, d.line...)
	d.events = append(d.events, decodeEvent{kind: eventLine, line: d.arena[start:len(d.arena):len(d.arena)]})
	d.line = d.line[:0]
}
