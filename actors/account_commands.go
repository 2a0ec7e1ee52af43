package actors

import (
	"fmt"
	"net"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchat/actorchat/internal/password"
	"github.com/actorchat/actorchat/messages"
)

// A prompt asks the user questions one line at a time (a password, hidden
// on telnet), then acts on the answers. While a prompt is open, the user's
// lines are its answers, never commands or chat; an empty line cancels it.
type prompt struct {
	questions []question
	answers   []string
	then      func(c *connection, ctx actor.Context, answers []string)
}

// question is one line a prompt asks for.
type question struct {
	text   string
	secret bool // a password: hidden on telnet, never shown or logged
}

// startPrompt asks the prompt's first question.
func (c *connection) startPrompt(ctx actor.Context, p *prompt) {
	c.prompt = p
	c.ask1(ctx)
}

// ask1 asks the next question, hiding the answer on telnet when it is
// secret.
func (c *connection) ask1(ctx actor.Context) {
	q := c.prompt.questions[len(c.prompt.answers)]
	hidden := false
	if q.secret {
		c.sock.HideInput(true)
		hidden = c.sock.SpeaksTelnet()
	} else {
		c.sock.HideInput(false)
	}
	switch {
	case hidden:
		c.sendNotice(ctx, q.text+" (not shown as you type; an empty line cancels):")
	default:
		c.sendNotice(ctx, q.text+" (an empty line cancels):")
	}
}

// answerPrompt takes one line as the answer to the open question.
func (c *connection) answerPrompt(ctx actor.Context, line string) {
	p := c.prompt
	if line == "" {
		c.endPrompt()
		c.sendNotice(ctx, "Cancelled.")
		return
	}
	p.answers = append(p.answers, line)
	if len(p.answers) < len(p.questions) {
		c.ask1(ctx)
		return
	}
	c.endPrompt()
	p.then(c, ctx, p.answers)
}

// endPrompt closes the prompt, showing input again.
func (c *connection) endPrompt() {
	c.prompt = nil
	c.sock.HideInput(false)
}

// accountsOff answers an account command on a server without a store.
func (c *connection) accountsOff(ctx actor.Context) bool {
	if !c.env.accountsOn {
		c.sendError(ctx, "accounts are off on this server: it keeps no data")
		return true
	}
	return false
}

// remoteIP is the client's address without its port, for the limits on
// failed password attempts.
func (c *connection) remoteIP() string {
	if host, _, err := net.SplitHostPort(c.remote); err == nil {
		return host
	}
	return c.remote
}

// checkNewPassword says what is wrong with a new password, if anything.
func checkNewPassword(pw string) string {
	if len(pw) < password.MinLen || len(pw) > password.MaxLen {
		return fmt.Sprintf("a password has %d to %d characters", password.MinLen, password.MaxLen)
	}
	return ""
}

// cmdRegister: /register [PASSWORD]
func (c *connection) cmdRegister(ctx actor.Context, args string) {
	if c.accountsOff(ctx) {
		return
	}
	switch {
	case isGuestNick(c.nick):
		c.sendError(ctx, "choose your nick first (/nick NAME), then /register it")
		return
	case c.account == foldNick(c.nick):
		c.sendError(ctx, fmt.Sprintf("%s is registered already, and you are identified as it", c.nick))
		return
	}
	nick := c.nick
	register := func(c *connection, ctx actor.Context, pw string) {
		if reason := checkNewPassword(pw); reason != "" {
			c.sendError(ctx, reason+"; nothing was registered")
			return
		}
		c.ask(ctx, c.env.accounts, &messages.RegisterAccount{MemberId: c.member, Nick: nick, Password: pw, RemoteIp: c.remoteIP()},
			"/register", on((*connection).identified)).byRegistry = true
	}
	if args != "" {
		register(c, ctx, args)
		return
	}
	c.startPrompt(ctx, &prompt{
		questions: []question{{text: fmt.Sprintf("Choose a password for %s, %d to %d characters", nick, password.MinLen, password.MaxLen), secret: true},
			{text: "Type it again", secret: true}},
		then: func(c *connection, ctx actor.Context, a []string) {
			if a[0] != a[1] {
				c.sendError(ctx, "the two passwords differ; nothing was registered")
				return
			}
			register(c, ctx, a[0])
		},
	})
}

// cmdIdentify: /identify [ACCOUNT] [PASSWORD] (/login). One argument that
// names an account (always, for a guest) is that account: its password is
// asked for, hidden, so that it is never typed as a line of chat. Else it is
// the password of the account named like your nick.
func (c *connection) cmdIdentify(ctx actor.Context, args string) {
	if c.accountsOff(ctx) {
		return
	}
	identify := func(c *connection, ctx actor.Context, account, pw string) {
		if foldNick(account) == c.account {
			c.sendNotice(ctx, fmt.Sprintf("You are identified as %s already.", account))
			return
		}
		c.ask(ctx, c.env.accounts, &messages.IdentifyAccount{MemberId: c.member, Account: account, Password: pw, RemoteIp: c.remoteIP()},
			"/identify", on((*connection).identified)).byRegistry = true
	}
	askPassword := func(c *connection, ctx actor.Context, account string) {
		c.startPrompt(ctx, &prompt{
			questions: []question{{text: "Password for " + account, secret: true}},
			then:      func(c *connection, ctx actor.Context, a []string) { identify(c, ctx, account, a[0]) },
		})
	}
	fields := strings.Fields(args)
	switch {
	case len(fields) >= 2:
		identify(c, ctx, fields[0], strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(args), fields[0])))
	case len(fields) == 1 && (isGuestNick(c.nick) || strings.EqualFold(fields[0], c.nick)):
		askPassword(c, ctx, fields[0])
	case len(fields) == 1:
		// An account's name, or our own account's password? The registry
		// knows the accounts.
		arg := strings.TrimSpace(args)
		c.ask(ctx, c.env.registry, &messages.ResolveTarget{Name: arg}, "/identify", on(func(c *connection, ctx actor.Context, t *messages.TargetResolved) {
			if t.GetAccount() == foldNick(arg) {
				askPassword(c, ctx, arg)
				return
			}
			identify(c, ctx, c.nick, arg)
		}))
	case isGuestNick(c.nick):
		c.startPrompt(ctx, &prompt{
			questions: []question{{text: "Account"}, {text: "Password", secret: true}},
			then:      func(c *connection, ctx actor.Context, a []string) { identify(c, ctx, a[0], a[1]) },
		})
	default:
		account := c.nick
		c.startPrompt(ctx, &prompt{
			questions: []question{{text: "Password for " + account, secret: true}},
			then:      func(c *connection, ctx actor.Context, a []string) { identify(c, ctx, account, a[0]) },
		})
	}
}

// cmdPassword: /password [OLD NEW]
func (c *connection) cmdPassword(ctx actor.Context, args string) {
	if c.accountsOff(ctx) || c.notIdentified(ctx) {
		return
	}
	account := c.account
	change := func(c *connection, ctx actor.Context, old, new string) {
		if reason := checkNewPassword(new); reason != "" {
			c.sendError(ctx, reason+"; the password is unchanged")
			return
		}
		c.ask(ctx, c.env.accounts, &messages.ChangePassword{MemberId: c.member, Account: account, OldPassword: old, NewPassword: new,
			RemoteIp: c.remoteIP()}, "/password", on(func(c *connection, ctx actor.Context, _ *messages.PasswordChanged) {
			c.sendNotice(ctx, "Your password is changed.")
		}))
	}
	if fields := strings.Fields(args); len(fields) >= 2 {
		change(c, ctx, fields[0], strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(args), fields[0])))
		return
	} else if len(fields) == 1 {
		c.sendError(ctx, "usage: /password OLD NEW, or /password alone to be asked")
		return
	}
	c.startPrompt(ctx, &prompt{
		questions: []question{{text: "Your password now", secret: true}, {text: "The new password", secret: true}, {text: "The new password again", secret: true}},
		then: func(c *connection, ctx actor.Context, a []string) {
			if a[1] != a[2] {
				c.sendError(ctx, "the new passwords differ; the password is unchanged")
				return
			}
			change(c, ctx, a[0], a[1])
		},
	})
}

// cmdUnregister: /unregister [PASSWORD]
func (c *connection) cmdUnregister(ctx actor.Context, args string) {
	if c.accountsOff(ctx) || c.notIdentified(ctx) {
		return
	}
	account := c.account
	unregister := func(c *connection, ctx actor.Context, pw string) {
		c.ask(ctx, c.env.accounts, &messages.UnregisterAccount{MemberId: c.member, Account: account, Password: pw, RemoteIp: c.remoteIP()},
			"/unregister", on((*connection).unregistered)).byRegistry = true
	}
	if args != "" {
		unregister(c, ctx, args)
		return
	}
	c.startPrompt(ctx, &prompt{
		questions: []question{{text: "To remove the account " + account + ", its password", secret: true}},
		then:      func(c *connection, ctx actor.Context, a []string) { unregister(c, ctx, a[0]) },
	})
}

// cmdGhost: /ghost NICK
func (c *connection) cmdGhost(ctx actor.Context, args string) {
	if c.accountsOff(ctx) {
		return
	}
	c.ask(ctx, c.env.registry, &messages.GhostNick{MemberId: c.member, Nick: args}, "/ghost", on(func(c *connection, ctx actor.Context, msg *messages.NickGhosted) {
		c.sendNotice(ctx, fmt.Sprintf("The other session using %s is disconnected; /nick %s to take it.", msg.GetNick(), msg.GetNick()))
	}))
}

func (c *connection) notIdentified(ctx actor.Context) bool {
	if c.account == "" {
		c.sendError(ctx, "you are not identified: /identify first")
		return true
	}
	return false
}

// identified takes the account the registry has us down as (the answer to
// /identify or /register, which only the registry gives).
func (c *connection) identified(ctx actor.Context, msg *messages.Identified) {
	c.account, c.accountID = msg.GetAccount(), msg.GetAccountId()
	c.identityToRooms(ctx)
	if msg.GetRenamedFrom() != "" {
		c.setNick(msg.GetNick())
		if c.here == nil { // no room echoes the rename
			c.writeLine(ctx, c.codec.AppendOwnNick(c.scratchBuf(), msg.GetRenamedFrom(), c.nick))
		}
		c.renameInRooms(ctx, false)
	}
	if msg.GetRegistered() {
		c.sendNotice(ctx, fmt.Sprintf("%s is registered to you. Next time: /identify, or /identify %s PASSWORD from another nick.", msg.GetNick(), msg.GetNick()))
	} else {
		c.sendNotice(ctx, fmt.Sprintf("You are identified as %s.", msg.GetAccount()))
	}
	if msg.GetNickInUse() {
		c.sendNotice(ctx, fmt.Sprintf("Another session is using %s: /ghost %s disconnects it; then /nick %s.", msg.GetAccount(), msg.GetAccount(), msg.GetAccount()))
	}
	c.rejoinOn = msg.GetRejoin() || msg.GetRegistered()
	if c.rejoinOn && len(msg.GetRooms()) > 0 {
		c.queueRejoin(ctx, msg.GetRooms())
	} else {
		c.saveRooms(ctx)
	}
}

// unregistered answers our /unregister (only the registry's word counts).
func (c *connection) unregistered(ctx actor.Context, msg *messages.AccountUnregistered) {
	c.accountGone(ctx, msg)
	c.sendNotice(ctx, fmt.Sprintf("The account %s is removed; the nick is free for anyone.", msg.GetAccount()))
}

// handleAccountUnregistered: an account is gone (another session of it
// removed it, or it expired); if it was ours, we are no longer identified.
func (c *connection) handleAccountUnregistered(ctx actor.Context, msg *messages.AccountUnregistered) {
	if c.accountGone(ctx, msg) {
		c.sendNotice(ctx, fmt.Sprintf("The account %s was removed; you are no longer identified.", msg.GetAccount()))
	}
}

// accountGone forgets our account if it is the one removed, and reports
// whether it was.
func (c *connection) accountGone(ctx actor.Context, msg *messages.AccountUnregistered) bool {
	if msg.GetAccountId() == "" || msg.GetAccountId() != c.accountID {
		return false
	}
	c.account, c.accountID = "", ""
	c.identityToRooms(ctx)
	return true
}

// cmdOper: /oper NAME [PASSWORD]. The password is the -admins file's, not
// an account's: being an operator is proved, never inherited from a nick.
func (c *connection) cmdOper(ctx actor.Context, args string) {
	name, pw, _ := strings.Cut(strings.TrimSpace(args), " ")
	oper := func(c *connection, ctx actor.Context, pw string) {
		c.ask(ctx, c.env.accounts, &messages.OperLogin{MemberId: c.member, Name: name, Password: pw, RemoteIp: c.remoteIP()},
			"/oper", on(func(c *connection, ctx actor.Context, msg *messages.Opered) { c.opered(ctx, msg, true) })).byRegistry = true
	}
	if pw = strings.TrimSpace(pw); pw != "" {
		oper(c, ctx, pw)
		return
	}
	c.startPrompt(ctx, &prompt{
		questions: []question{{text: "Password of the operator " + name, secret: true}},
		then:      func(c *connection, ctx actor.Context, a []string) { oper(c, ctx, a[0]) },
	})
}

// opered: the registry has us down as a server operator; asked says it
// answers our /oper in time (else the user was told it failed).
func (c *connection) opered(ctx actor.Context, msg *messages.Opered, asked bool) {
	c.oper = msg.GetToken()
	c.identityToRooms(ctx)
	if asked {
		c.sendNotice(ctx, fmt.Sprintf("You are a server operator (%s): /help lists what you may do.", msg.GetName()))
	}
}

// handleGhosted: the account's owner identified elsewhere and wants its nick.
func (c *connection) handleGhosted(ctx actor.Context, msg *messages.Ghosted) {
	c.sendNotice(ctx, fmt.Sprintf("You are disconnected: the owner of the account %s took back its nick (/ghost).", msg.GetByAccount()))
	c.stop(ctx, messages.LeaveReason_LEAVE_REASON_GHOSTED)
}
