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

// telnetBinary is the TRANSMIT-BINARY option (RFC 856), the one option chatd
// asks for: in binary mode a telnet client sends the bytes the user typed as
// they are. Without it, BSD-derived telnets (Debian's inetutils and netkit,
// macOS's inetutils) compare each byte with its top bit stripped against the
// interrupt and quit keys, so the UTF-8 bytes 0x83 and 0x9C (inside "✓",
// "у", "ă", "本") go out as IAC IP / IAC BRK: typing them would end the
// session.
const telnetBinary = 0

// telnetOffer is what the server sends first on every connection: WILL and
// DO TRANSMIT-BINARY, then a CR. A telnet client consumes the option bytes;
// on an nc user's terminal the CR returns the cursor to the start of the
// line, so the welcome that follows draws over whatever the terminal made of
// them.
var telnetOffer = []byte{telnetIAC, telnetWILL, telnetBinary, telnetIAC, telnetDO, telnetBinary, '\r'}

// optionState is one side of one option's negotiation (RFC 1143, without
// the queue bit: the server asks once, at the start).
type optionState uint8

const (
	optionNo      optionState = iota // disabled
	optionWantYes                    // we asked for it and wait for the answer
	optionYes                        // enabled
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

	binaryOurs   optionState // TRANSMIT-BINARY from server to client (our WILL)
	binaryTheirs optionState // TRANSMIT-BINARY from client to server (our DO)
}

// maxRefusals bounds how many option refusals the decoder sends on one
// connection: a real client negotiates a handful of options once, and a peer
// that keeps asking gets no more answers rather than an amplifier.
const maxRefusals = 64

// newLineDecoder returns a decoder for a connection that has been sent
// telnetOffer: both directions of TRANSMIT-BINARY are asked for.
func newLineDecoder(maxLine int) *lineDecoder {
	return &lineDecoder{maxLine: maxLine, binaryOurs: optionWantYes, binaryTheirs: optionWantYes}
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

// option answers IAC <verb> <option>. TRANSMIT-BINARY is agreed to in both
// directions (see telnetBinary); every other option is refused, so a telnet
// client stays in its default line mode with local echo. As RFC 854 and
// RFC 1143 ask, an answer to our own request, and a request that changes
// nothing, get no reply: two peers never loop.
func (d *lineDecoder) option(opt byte) {
	d.state = stateData
	if opt == telnetBinary {
		d.binaryOption()
		return
	}
	switch d.verb {
	case telnetDO:
		d.reply([]byte{telnetIAC, telnetWONT, opt})
	case telnetWILL:
		d.reply([]byte{telnetIAC, telnetDONT, opt})
	}
}

// binaryOption negotiates TRANSMIT-BINARY: DO/DONT are about our side, WILL/
// WONT about the client's.
func (d *lineDecoder) binaryOption() {
	switch d.verb {
	case telnetDO:
		d.binaryOurs = d.agree(d.binaryOurs, telnetWILL)
	case telnetDONT:
		d.binaryOurs = d.disagree(d.binaryOurs, telnetWONT)
	case telnetWILL:
		d.binaryTheirs = d.agree(d.binaryTheirs, telnetDO)
	case telnetWONT:
		d.binaryTheirs = d.disagree(d.binaryTheirs, telnetDONT)
	}
}

// agree handles the peer's request to enable (or answer enabling) an option
// we want: it is acknowledged only if we had not asked for it ourselves.
func (d *lineDecoder) agree(s optionState, ack byte) optionState {
	if s == optionNo {
		d.reply([]byte{telnetIAC, ack, telnetBinary})
	}
	return optionYes
}

// disagree handles the peer's refusal or disabling: acknowledged only if the
// option was on.
func (d *lineDecoder) disagree(s optionState, ack byte) optionState {
	if s == optionYes {
		d.reply([]byte{telnetIAC, ack, telnetBinary})
	}
	return optionNo
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
