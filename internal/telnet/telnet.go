// Package telnet turns the bytes a telnet (or nc) client sends into lines:
// it consumes telnet commands and negotiates options (TRANSMIT-BINARY is
// asked for, everything else refused), applies line editing, and ends lines
// at any of the line ends clients send. It knows nothing of actors.
package telnet

import "unicode/utf8"

// Telnet command bytes (RFC 854) that the decoder acts on.
const (
	cmdSE  = 240 // end of subnegotiation
	cmdNOP = 241
	cmdDM  = 242 // data mark
	BRK    = 243 // break: what some clients send on Ctrl-C
	IP     = 244 // interrupt process: what telnet sends on Ctrl-C
	cmdAO  = 245 // abort output
	cmdAYT = 246 // are you there
	cmdEC  = 247 // erase character
	cmdEL  = 248 // erase line
	cmdGA  = 249 // go ahead
	cmdSB  = 250 // start of subnegotiation
	WILL   = 251
	WONT   = 252
	DO     = 253
	DONT   = 254
	IAC    = 255 // "interpret as command"
)

// OptBinary is the TRANSMIT-BINARY option (RFC 856), the one option chatd
// asks for: in binary mode a telnet client sends the bytes the user typed as
// they are. Without it, BSD-derived telnets (Debian's inetutils and netkit,
// macOS's inetutils) compare each byte with its top bit stripped against the
// interrupt and quit keys, so the UTF-8 bytes 0x83 and 0x9C (inside "✓",
// "у", "ă", "本") go out as IAC IP / IAC BRK: typing them would end the
// session.
const OptBinary = 0

// OptEcho is the ECHO option (RFC 857). chatd offers it (IAC WILL ECHO) only
// while a user types a password, and never echoes: a telnet client that
// agrees stops echoing locally, so the password is not shown. WontEcho
// takes it back.
const (
	OptEcho  = 1
	WillEcho = "\xff\xfb\x01" // IAC WILL ECHO
	WontEcho = "\xff\xfc\x01" // IAC WONT ECHO
)

// Offer is what the server sends first on every connection: DO
// TRANSMIT-BINARY (the client's side only), then a CR. A telnet client
// consumes the option bytes; on an nc user's terminal the CR returns the
// cursor to the start of the line, so the welcome that follows draws over
// whatever the terminal made of them.
//
// Only the client's side: in binary mode the BSD-derived telnet clients
// send what is typed as it is (outside it, the UTF-8 bytes 0x83 and 0x9C
// turn into Ctrl-C and Ctrl-\). Our side stays off: inetutils telnet, when
// it receives in binary mode, turns its terminal's output processing off
// (-opost), and then its echo of the user's Enter is a bare LF, and every
// line that comes next starts where the typed line ended (a staircase).
// Received outside binary mode, UTF-8 is shown intact by those clients.
const Offer = "\xff\xfd\x00\r" // IAC DO BINARY, CR

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

// Event is what one call of Decoder.Feed reports, in input order.
type Event struct {
	Kind EventKind
	Line []byte // for EventLine; valid only until the next Feed
}

// EventKind says what an Event is.
type EventKind uint8

const (
	EventLine      EventKind = iota + 1 // a complete line, without its line end
	EventTooLong                        // a line passed the limit; its bytes up to the next line end are discarded
	EventInterrupt                      // IAC IP or IAC BRK
	EventOverflow                       // the discarded part of a too-long line passed MaxDiscard
)

// MaxDiscard is how many bytes of one too-long line the decoder throws away
// before it reports EventOverflow: nobody types a megabyte without a line end.
const MaxDiscard = 1 << 20

// Decoder turns the bytes a telnet (or nc) client sends into lines. It
// consumes telnet commands and option negotiation, answers option requests by
// refusing them (so a telnet client stays in its default line mode with local
// echo), applies backspace/DEL and IAC EC/EL editing, and ends a line at
// CR LF, CR NUL, bare LF or bare CR, wherever the bytes are split between
// reads. It never holds more than maxLine bytes of a line.
//
// It is a pure state machine, owned by one reader goroutine.
type Decoder struct {
	maxLine int // longest line in bytes; a longer one is discarded

	line     []byte       // the line so far
	arena    []byte       // completed lines of the current feed call
	state    decoderState // position in the telnet stream
	verb     byte         // WILL/WONT/DO/DONT waiting for its option byte
	afterCR  bool         // the last data byte was CR: a following LF or NUL belongs to it
	tooLong  bool         // the current line passed maxLine; discard until its end
	discard  int          // bytes of the current too-long line thrown away
	replies  []byte       // negotiation replies to send back, taken by takeReplies
	events   []Event
	refusals int // option replies sent so far; bounded so a peer cannot make us echo forever

	binaryTheirs optionState // TRANSMIT-BINARY from client to server (our DO); ours is never on (see Offer)
	negotiated   bool        // the client has sent an option command: it speaks telnet
	echoOffered  func() bool // whether we offer ECHO now (see OptEcho); nil: never
	plain        bool        // no telnet: IAC, backspace and DEL are data (see NewPlainDecoder)
}

// MaxRefusals bounds how many option refusals the decoder sends on one
// connection: a real client negotiates a handful of options once, and a peer
// that keeps asking gets no more answers rather than an amplifier.
const MaxRefusals = 64

// NewDecoder returns a decoder for a connection that has been sent
// Offer: the client's TRANSMIT-BINARY is asked for.
func NewDecoder(maxLine int) *Decoder {
	return &Decoder{maxLine: maxLine, binaryTheirs: optionWantYes}
}

// NewPlainDecoder returns a decoder of plain lines, for a protocol that is
// not telnet (IRC): it splits lines at CR, LF or CR LF and bounds them as
// the telnet decoder does, drops NUL, and takes every other byte as data,
// IAC, backspace and DEL included. It never negotiates or replies.
func NewPlainDecoder(maxLine int) *Decoder {
	return &Decoder{maxLine: maxLine, plain: true}
}

// SetEchoOffered tells the decoder how to know whether the server offers
// ECHO at the moment: a client's DO ECHO is then its agreement, which gets no
// answer; at any other time it is refused. offered is called from the
// decoder's goroutine.
func (d *Decoder) SetEchoOffered(offered func() bool) { d.echoOffered = offered }

// Negotiated reports whether the client has sent any option command, which
// telnet clients do and nc never does.
func (d *Decoder) Negotiated() bool { return d.negotiated }

// feed decodes p and returns the events it completed. The returned slice and
// the lines in it are reused by the next call.
func (d *Decoder) Feed(p []byte) []Event {
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
			if b == IAC {
				d.state = stateSBIAC
			}
		case stateSBIAC:
			switch b {
			case cmdSE:
				d.state = stateData
			default: // IAC IAC inside SB is an escaped 255; anything else stays in SB
				d.state = stateSB
			}
		}
	}
	return d.events
}

// takeReplies returns the negotiation bytes to send back and forgets them.
func (d *Decoder) TakeReplies() []byte {
	r := d.replies
	d.replies = nil
	return r
}

func (d *Decoder) dataByte(b byte) {
	afterCR := d.afterCR
	d.afterCR = false
	if d.plain && (b == IAC || b == '\b' || b == 0x7f) {
		d.appendByte(b)
		return
	}
	switch b {
	case IAC:
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

func (d *Decoder) command(b byte) {
	d.state = stateData
	switch b {
	case IAC: // IAC IAC is a literal 255 byte
		d.appendByte(b)
	case WILL, WONT, DO, DONT:
		d.verb = b
		d.state = stateOption
	case cmdSB:
		d.state = stateSB
	case IP, BRK:
		d.line = d.line[:0]
		d.tooLong = false
		d.discard = 0
		d.events = append(d.events, Event{Kind: EventInterrupt})
	case cmdEC:
		d.eraseChar()
	case cmdEL:
		d.line = d.line[:0]
	case cmdAYT:
		d.reply([]byte("[yes]\r\n"))
	default: // NOP, DM, AO, GA, SE out of place: nothing to do
	}
}

// option answers IAC <verb> <option>. TRANSMIT-BINARY is agreed to in both
// directions (see OptBinary); every other option is refused, so a telnet
// client stays in its default line mode with local echo. As RFC 854 and
// RFC 1143 ask, an answer to our own request, and a request that changes
// nothing, get no reply: two peers never loop.
func (d *Decoder) option(opt byte) {
	d.state = stateData
	d.negotiated = true
	if opt == OptBinary {
		d.binaryOption()
		return
	}
	if opt == OptEcho && d.verb == DO && d.echoOffered != nil && d.echoOffered() {
		return // the client agrees to our WILL ECHO
	}
	switch d.verb {
	case DO:
		d.reply([]byte{IAC, WONT, opt})
	case WILL:
		d.reply([]byte{IAC, DONT, opt})
	}
}

// binaryOption negotiates TRANSMIT-BINARY: WILL/WONT are about the
// client's side, which we want; DO/DONT about ours, which stays off (a DO is
// refused, a DONT needs no answer).
func (d *Decoder) binaryOption() {
	switch d.verb {
	case DO:
		d.reply([]byte{IAC, WONT, OptBinary})
	case WILL:
		d.binaryTheirs = d.agree(d.binaryTheirs, DO)
	case WONT:
		d.binaryTheirs = d.disagree(d.binaryTheirs, DONT)
	}
}

// agree handles the peer's request to enable (or answer enabling) an option
// we want: it is acknowledged only if we had not asked for it ourselves.
func (d *Decoder) agree(s optionState, ack byte) optionState {
	if s == optionNo {
		d.reply([]byte{IAC, ack, OptBinary})
	}
	return optionYes
}

// disagree handles the peer's refusal or disabling: acknowledged only if the
// option was on.
func (d *Decoder) disagree(s optionState, ack byte) optionState {
	if s == optionYes {
		d.reply([]byte{IAC, ack, OptBinary})
	}
	return optionNo
}

func (d *Decoder) reply(p []byte) {
	if d.refusals >= MaxRefusals {
		return
	}
	d.refusals++
	d.replies = append(d.replies, p...)
}

func (d *Decoder) appendByte(b byte) {
	if d.tooLong {
		d.discard++
		if d.discard == MaxDiscard {
			d.events = append(d.events, Event{Kind: EventOverflow})
		}
		return
	}
	if len(d.line) >= d.maxLine {
		d.tooLong = true
		d.discard = len(d.line) + 1
		d.line = d.line[:0]
		d.events = append(d.events, Event{Kind: EventTooLong})
		return
	}
	d.line = append(d.line, b)
}

// eraseChar removes the last character (a whole UTF-8 sequence) of the line.
func (d *Decoder) eraseChar() {
	if len(d.line) == 0 || d.tooLong {
		return
	}
	_, size := utf8.DecodeLastRune(d.line)
	d.line = d.line[:len(d.line)-size]
}

func (d *Decoder) endLine() {
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
	d.events = append(d.events, Event{Kind: EventLine, Line: d.arena[start:len(d.arena):len(d.arena)]})
	d.line = d.line[:0]
}
