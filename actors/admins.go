package actors

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Operator is a server operator of the -admins file: a name and the
// Argon2id hash of its password (chatd oper hash makes one). The password
// is the credential: a user becomes an operator with /oper NAME PASSWORD,
// whatever nick or account it has, and nothing else makes one. Names are
// case-folded.
type Operator struct {
	Name string
	Hash string
}

// Admins is the set of server operators. chatd reads it from the -admins
// file and replaces it whole on SIGHUP; actors read it at any time. A nil
// *Admins has nobody.
//
// A user that proved an operator's password holds that operator's token
// (see token): its rights are checked against the set at each use, so an
// operator removed from the file, or given a new password, loses them at
// once in every session that had them.
type Admins struct {
	set atomic.Pointer[map[string]Operator]
}

// NewAdmins returns the set of the given operators.
func NewAdmins(ops []Operator) *Admins {
	a := &Admins{}
	a.Set(ops)
	return a
}

// Set replaces the set. An operator without a hash gets no rights (the
// caller logs it).
func (a *Admins) Set(ops []Operator) {
	m := make(map[string]Operator, len(ops))
	for _, op := range ops {
		name := foldNick(strings.TrimSpace(op.Name))
		if name != "" && op.Hash != "" {
			m[name] = Operator{Name: name, Hash: op.Hash}
		}
	}
	a.set.Store(&m)
}

// lookup returns the operator of that name.
func (a *Admins) lookup(name string) (Operator, bool) {
	if a == nil {
		return Operator{}, false
	}
	m := a.set.Load()
	if m == nil {
		return Operator{}, false
	}
	op, ok := (*m)[foldNick(name)]
	return op, ok
}

// token is what a session that proved op's password holds: the operator's
// name and a digest of its hash, so that a new hash (a new password) is a
// new token. It is the same on every node that reads the same file.
func (op Operator) token() string {
	sum := sha256.Sum256([]byte(op.Hash))
	return op.Name + "/" + hex.EncodeToString(sum[:6])
}

// Valid reports whether token is a server operator's now.
func (a *Admins) Valid(token string) bool {
	name, _, ok := strings.Cut(token, "/")
	if !ok {
		return false
	}
	op, ok := a.lookup(name)
	return ok && op.token() == token
}

// operatorName is the name in an operator token; "" for none.
func operatorName(token string) string {
	name, _, _ := strings.Cut(token, "/")
	return name
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
// or an IP), if one does and has not expired. Loopback is never k-lined:
// whatever the store holds, the machine's administrator can connect.
func (k *klines) match(remote string, now time.Time) (kline, bool) {
	if k == nil {
		return kline{}, false
	}
	l := k.list.Load()
	if l == nil || len(*l) == 0 {
		return kline{}, false
	}
	addr, err := parseIP(remote)
	if err != nil || addr.IsLoopback() {
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

// KlineRules bound what a k-line may cover: a range no wider than
// MinBits4 (IPv4) or MinBits6 (IPv6) bits of prefix, and never loopback.
// A typo such as /kline 0.0.0.0/0 would otherwise refuse everyone, the
// operators too, until the store is edited.
type KlineRules struct {
	MinBits4, MinBits6 int
}

// Defaults of KlineRules: a /16 of IPv4, a /32 of IPv6 (a provider's
// allocation), at the widest.
const (
	defaultKlineMinBits4 = 16
	defaultKlineMinBits6 = 32
)

// loopback4 is IPv4's loopback range.
var loopback4 = netip.MustParsePrefix("127.0.0.0/8")

// check says why p may not be k-lined; nil if it may.
func (k KlineRules) check(p netip.Prefix) error {
	minBits, family, flag := k.MinBits4, "IPv4", "-kline-min-prefix"
	if p.Addr().Is6() {
		minBits, family, flag = k.MinBits6, "IPv6", "-kline-min-prefix6"
	}
	if minBits <= 0 {
		minBits = map[string]int{"IPv4": defaultKlineMinBits4, "IPv6": defaultKlineMinBits6}[family]
	}
	switch {
	case p.Overlaps(loopback4) || p.Contains(netip.IPv6Loopback()):
		return fmt.Errorf("%s covers loopback, which is never k-lined", p)
	case p.Bits() < minBits:
		return fmt.Errorf("%s is wider than the server allows for %s (/%d at the widest; %s changes it)", p, family, minBits, flag)
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
