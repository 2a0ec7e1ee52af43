package actors

import (
	"bytes"
	"encoding/base64"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/irc"
	"github.com/actorchat/actorchat/messages"
)

// IRCv3 capability negotiation (CAP LS 302, LIST, REQ, END) and SASL PLAIN
// (AUTHENTICATE), which logs an IRC client into its account before its
// registration ends, as /identify does.

// ircCaps is what the server offers: echo-message, multi-prefix (NAMES
// shows every prefix a member has: rooms have one, @), server-time, and
// sasl with accounts (a store).
func (c *connection) ircCaps(v302 bool) []string {
	caps := []string{"echo-message", "multi-prefix", "server-time"}
	switch {
	case !c.env.accountsOn:
	case v302:
		caps = append(caps, "sasl=PLAIN")
	default:
		caps = append(caps, "sasl")
	}
	return caps
}

// ircCap: CAP LS [302], LIST, REQ :caps, END. LS and REQ hold the
// registration until END.
func (c *connection) ircCap(ctx actor.Context, m *irc.Message) {
	s := c.irc
	reply := func(sub, caps string) {
		c.writeLine(ctx, irc.Append(c.scratchBuf(), s.Server, "CAP", s.Target(), sub, caps))
	}
	switch strings.ToUpper(m.Param(0)) {
	case "LS":
		s.capping = !s.welcomed
		reply("LS", strings.Join(c.ircCaps(m.Param(1) >= "302"), " "))
	case "LIST":
		var list []string
		for _, cp := range []string{"echo-message", "multi-prefix", "sasl", "server-time"} {
			if *c.ircCapFlag(cp) {
				list = append(list, cp)
			}
		}
		reply("LIST", strings.Join(list, " "))
	case "REQ":
		s.capping = !s.welcomed
		asked, ok := strings.Fields(m.Param(1)), true
		for _, cp := range asked {
			switch name := strings.TrimPrefix(cp, "-"); {
			case name == "sasl" && !c.env.accountsOn, c.ircCapFlag(name) == nil:
				ok = false
			}
		}
		if !ok || len(asked) == 0 {
			reply("NAK", m.Param(1))
			return
		}
		for _, cp := range asked {
			*c.ircCapFlag(strings.TrimPrefix(cp, "-")) = !strings.HasPrefix(cp, "-")
		}
		reply("ACK", m.Param(1))
	case "END":
		s.capping = false
	default:
		c.numeric(ctx, irc.ErrInvalidCapCmd, m.Param(0), "Invalid CAP command")
	}
}

// ircCapFlag is where the session keeps whether capability name is
// enabled; nil for one the server does not offer.
func (c *connection) ircCapFlag(name string) *bool {
	s := c.irc
	switch name {
	case "echo-message":
		return &s.Echo
	case "multi-prefix":
		return &s.multiPrefix
	case "sasl":
		return &s.sasl
	case "server-time":
		return &s.ServerTime
	}
	return nil
}

// maxSASLPayload bounds a SASL PLAIN payload, base64 (an account name and
// a password fit many times).
const maxSASLPayload = 4096

// ircAuthenticate: AUTHENTICATE PLAIN, then the payload in chunks of 400
// base64 bytes ("+" for an empty last one), or * to abort. The payload is
// authzid NUL authcid NUL password; authzid is empty or authcid.
func (c *connection) ircAuthenticate(ctx actor.Context, m *irc.Message) {
	s := c.irc
	arg := m.Param(0)
	switch {
	case !s.sasl:
		c.numeric(ctx, irc.ErrSASLFail, "SASL authentication failed: ask for the sasl capability first")
		return
	case c.account != "":
		c.numeric(ctx, irc.ErrSASLAlready, "You have already authenticated using SASL")
		return
	case arg == "*":
		s.saslMech, s.saslBuf = false, nil
		c.numeric(ctx, irc.ErrSASLAborted, "SASL authentication aborted")
		return
	case !s.saslMech:
		if !strings.EqualFold(arg, "PLAIN") {
			c.numeric(ctx, irc.RplSASLMechs, "PLAIN", "are available SASL mechanisms")
			c.numeric(ctx, irc.ErrSASLFail, "SASL authentication failed")
			return
		}
		s.saslMech = true
		c.writeLine(ctx, irc.Append(c.scratchBuf(), "", "AUTHENTICATE", "+"))
		return
	}
	if arg != "+" {
		s.saslBuf = append(s.saslBuf, arg...)
	}
	if len(s.saslBuf) > maxSASLPayload {
		s.saslMech, s.saslBuf = false, nil
		c.numeric(ctx, irc.ErrSASLTooLong, "SASL message too long")
		return
	}
	if len(arg) == 400 {
		return // more to come
	}
	payload, err := base64.StdEncoding.DecodeString(string(s.saslBuf))
	s.saslMech, s.saslBuf = false, nil
	parts := bytes.Split(payload, []byte{0})
	if err != nil || len(parts) != 3 || len(parts[1]) == 0 || (len(parts[0]) > 0 && !bytes.Equal(parts[0], parts[1])) {
		c.numeric(ctx, irc.ErrSASLFail, "SASL authentication failed: not a PLAIN payload")
		return
	}
	account, password := irc.ChatNick(string(parts[1])), string(parts[2])
	if s.asked {
		c.ircSASLIdentify(ctx, account, password)
		return
	}
	// The registry must know the connection to log it in: it registers now,
	// under a guest nick the client never sees, and the nick waits for END.
	s.asked = true
	register := c.ask(ctx, c.env.registry, &messages.RegisterConnection{MemberId: c.member, Address: c.remoteIP(),
		Username: s.username, Realname: s.realname}, "", on(func(c *connection, ctx actor.Context, msg *messages.ConnectionRegistered) {
		c.setNick(msg.GetNick())
		c.keepLobby = true
		c.ircSASLIdentify(ctx, account, password)
	}))
	register.failed = (*connection).registerFailed
}

// ircSASLIdentify logs the connection into account, as /identify does,
// with the same limits on failures. The client reads 900 and 903, or 904.
func (c *connection) ircSASLIdentify(ctx actor.Context, account, password string) {
	p := c.ask(ctx, c.env.accounts, &messages.IdentifyAccount{MemberId: c.member, Account: account, Password: password, RemoteIp: c.remoteIP()},
		"AUTHENTICATE", on(func(c *connection, ctx actor.Context, msg *messages.Identified) {
			c.account, c.accountID = msg.GetAccount(), msg.GetAccountId()
			c.identityToRooms(ctx)
			if msg.GetRenamedFrom() != "" {
				c.setNick(msg.GetNick())
				if c.irc.welcomed {
					c.writeLine(ctx, c.codec.AppendOwnNick(c.scratchBuf(), msg.GetRenamedFrom(), c.nick))
					c.renameInRooms(ctx, false)
				}
			}
			c.rejoinOn = msg.GetRejoin()
			nick := irc.Nick(c.nick)
			c.numeric(ctx, irc.RplLoggedIn, nick+"!"+nick+"@"+irc.Host, irc.Nick(msg.GetAccount()), "You are now logged in as "+irc.Nick(msg.GetAccount()))
			c.numeric(ctx, irc.RplSASLSuccess, "SASL authentication successful")
			c.ircRegister(ctx)
		}))
	p.byRegistry = true
	p.refused = func(c *connection, ctx actor.Context, reason string) {
		c.numeric(ctx, irc.ErrSASLFail, "SASL authentication failed: "+reason)
	}
}
