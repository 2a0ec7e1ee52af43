package ipkey

import "testing"

func TestString(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                   "192.0.2.7/32",
		"192.0.2.7:7666":              "192.0.2.7/32",
		"::ffff:192.0.2.7":            "192.0.2.7/32",
		"[::ffff:192.0.2.7]:1":        "192.0.2.7/32",
		"2001:db8:1:2:3:4:5:6":        "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::9]:7666": "2001:db8:1:2::/64",
		"fe80::1%eth0":                "fe80::/64",
		"::1":                         "::/64",
		"not an address":              "not an address",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
	// One /64 is one client, whatever its low bits; the next /64 is another.
	if String("2001:db8::1") != String("2001:db8::ffff:1") || String("2001:db8::1") == String("2001:db8:0:1::1") {
		t.Error("IPv6 addresses are not keyed by their /64")
	}
}
