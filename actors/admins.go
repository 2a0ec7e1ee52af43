package actors

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Admins is the set of server operators' accounts (case-folded). chatd
// reads it from the -admins file and replaces it whole on SIGHUP; actors read
// it at any time. A nil *Admins has nobody.
type Admins struct {
	set atomic.Pointer[map[string]bool]
}

// NewAdmins returns the set of the given accounts.
func NewAdmins(accounts []string) *Admins {
	a := &Admins{}
	a.Set(accounts)
	return a
}

// Set replaces the set.
func (a *Admins) Set(accounts []string) {
	m := make(map[string]bool, len(accounts))
	for _, acct := range accounts {
		if acct = strings.TrimSpace(acct); acct != "" {
			m[foldNick(acct)] = true
		}
	}
	a.set.Store(&m)
}

// Has reports whether account is a server operator's.
func (a *Admins) Has(account string) bool {
	if a == nil || account == "" {
		return false
	}
	m := a.set.Load()
	return m != nil && (*m)[account]
}

// kline is one address range refused at accept.
type kline struct {
	prefix  netip.Prefix
	reason  string
	by      string
	expires time.Time // zero: never
}

// klines is the server's k-lines: the registry replaces the list (copy on
// write), the accept loops read it for every connection.
type klines struct {
	list atomic.Pointer[[]kline]
}

// match returns the k-line that covers the address of remote (an "ip:port"
// or an IP), if one does and has not expired.
func (k *klines) match(remote string, now time.Time) (kline, bool) {
	if k == nil {
		return kline{}, false
	}
	l := k.list.Load()
	if l == nil || len(*l) == 0 {
		return kline{}, false
	}
	addr, err := parseIP(remote)
	if err != nil {
		return kline{}, false
	}
	for _, kl := range *l {
		if kl.prefix.Contains(addr) && (kl.expires.IsZero() || now.Before(kl.expires)) {
			return kl, true
		}
	}
	return kline{}, false
}

// with returns the list with kl added (replacing one of the same prefix);
// without, with that prefix removed (and whether it was there).
func (k *klines) with(kl kline) {
	old := k.snapshot()
	next := slices.DeleteFunc(old, func(x kline) bool { return x.prefix == kl.prefix })
	next = append(next, kl)
	k.list.Store(&next)
}

func (k *klines) without(p netip.Prefix) bool {
	old := k.snapshot()
	next := slices.DeleteFunc(old, func(x kline) bool { return x.prefix == p })
	k.list.Store(&next)
	return len(next) != len(old)
}

// snapshot returns a copy of the list.
func (k *klines) snapshot() []kline {
	if l := k.list.Load(); l != nil {
		return slices.Clone(*l)
	}
	return nil
}

// parseIP reads an IP address, with or without a port.
func parseIP(s string) (netip.Addr, error) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	addr, err := netip.ParseAddr(s)
	return addr.Unmap(), err
}

// parsePrefix reads an address range: a CIDR (10.0.0.0/8, 2001:db8::/32) or
// one address (a /32 or /128). Its error says what is wanted.
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("%q is not an address or a CIDR range (like 192.0.2.7 or 192.0.2.0/24)", s)
}

// untilText says when something ends: "" for never, else " until TIME".
func untilText(expires time.Time) string {
	if expires.IsZero() {
		return ""
	}
	return " until " + expires.UTC().Format("2006-01-02 15:04Z")
}
