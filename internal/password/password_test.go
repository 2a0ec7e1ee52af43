package password

import (
	"strings"
	"testing"
)

func TestHashAndCheck(t *testing.T) {
	h := Hash("correct horse", Test)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if h2 := Hash("correct horse", Test); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	ok, stale, err := Check("correct horse", h, Test)
	if !ok || stale || err != nil {
		t.Fatalf("right password: %v %v %v", ok, stale, err)
	}
	if ok, _, _ := Check("correct hors", h, Test); ok {
		t.Fatal("wrong password accepted")
	}
	if _, stale, _ := Check("correct horse", h, Default); !stale {
		t.Fatal("a hash with other parameters is not stale")
	}
}

func TestDefaultHash(t *testing.T) {
	h := Hash("pw", Default)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if ok, stale, err := Check("pw", h, Default); !ok || stale || err != nil {
		t.Fatalf("%v %v %v", ok, stale, err)
	}
}

func TestMalformed(t *testing.T) {
	good := Hash("x", Test)
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		strings.Replace(good, "m=64", "m=99999999", 1), strings.Replace(good, "t=1", "t=0", 1), strings.Replace(good, "v=19", "v=16", 1),
		strings.Replace(good, "m=64,", "m=064,", 1), good + "$", good[:len(good)-30]} {
		if _, _, err := Check("x", h, Test); err == nil {
			t.Errorf("%q parsed", h)
		}
	}
}

// FuzzCheck: a stored hash from anywhere never panics Check, and never costs
// more than the bounds allow.
func FuzzCheck(f *testing.F) {
	f.Add(Hash("pw", Test), "pw")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "x")
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		p, _, _, err := parse(encoded)
		if err != nil {
			return
		}
		if p.Memory > 4096 || p.Time > 4 { // valid, but too slow for a fuzzer
			return
		}
		_, _, _ = Check(pw, encoded, Test)
	})
}
