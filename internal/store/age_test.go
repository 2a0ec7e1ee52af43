package store

import (
	"testing"
	"time"
)

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"0": 0, "30d": 30 * 24 * time.Hour, "720h": 720 * time.Hour, "90m": 90 * time.Minute, "1d": 24 * time.Hour,
		"92605d": 92605 * 24 * time.Hour, "106751d": 106751 * 24 * time.Hour} {
		if d, err := ParseAge(in); err != nil || d != want {
			t.Errorf("%q: %v %v, want %v", in, d, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "-5h", "1.5d", "1w", "106752d", "99999999d", "tomorrow"} {
		if d, err := ParseAge(in); err == nil {
			t.Errorf("%q accepted as %v", in, d)
		}
	}
	if got := FormatAge(30 * 24 * time.Hour); got != "30d" {
		t.Errorf("FormatAge(30 days) = %q", got)
	}
	// Found by FuzzParseAge: a duration of whole days past 65535 printed as
	// days that did not read back.
	if d, err := ParseAge("2222520h"); err != nil || FormatAge(d) != "92605d" {
		t.Errorf("2222520h: %v %v", d, err)
	} else if back, err := ParseAge(FormatAge(d)); err != nil || back != d {
		t.Errorf("92605d reads back as %v, %v", back, err)
	}
}

// FuzzParseAge: -retention never panics, never goes negative, and what
// FormatAge writes reads back as the same age.
func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"0", "30d", "720h", "1h30m", "-1d", "65535d", "1e9h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseAge(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("%q: negative age %v", s, d)
		}
		if back, err := ParseAge(FormatAge(d)); err != nil || back != d {
			t.Fatalf("%q: %v formats as %q, which reads back as %v (%v)", s, d, FormatAge(d), back, err)
		}
	})
}
