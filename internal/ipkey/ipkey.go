// Package ipkey says which client addresses count as one client, for every
// per-address limit, ban and throttle: an IPv4 address alone, and an IPv6
// address by its /64. One host, or one home, is handed a whole IPv6 /64 and
// may use any address in it, so counting /128s would let it open as many
// connections, or make as many guesses, as it likes.
package ipkey

import (
	"net"
	"net/netip"
)

// IPv6Bits is how much of an IPv6 address names one client.
const IPv6Bits = 64

// Of returns the prefix that addr counts as: its /32 for IPv4 (an
// IPv4-mapped IPv6 address is IPv4), its /64 for IPv6.
func Of(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return netip.PrefixFrom(addr, 32)
	}
	p, _ := addr.Prefix(IPv6Bits)
	return p
}

// Parse reads an address, with or without a port ("192.0.2.7",
// "[2001:db8::1]:7666"), as the prefix it counts as.
func Parse(s string) (netip.Prefix, error) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return Of(addr), nil
}

// String is Parse as a string, the key of a map; an address that does not
// parse is its own key.
func String(s string) string {
	p, err := Parse(s)
	if err != nil {
		return s
	}
	return p.String()
}
