// Package password hashes and checks account passwords with Argon2id
// (RFC 9106), the memory-hard function that won the Password Hashing
// Competition, stored in the PHC string format that other tools read:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt, base64>$<hash, base64>
//
// The parameters travel with each hash, so they can be raised later without
// invalidating stored passwords; Check reports when a hash was made with
// other parameters than the current ones, so that it can be made again.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are Argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// Default is OWASP's recommended minimum for Argon2id (19 MiB, 2 passes,
// 1 thread): about 25 ms of one core here, and 19 MiB while it runs.
var Default = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// Test is cheap, for tests only.
var Test = Params{Memory: 64, Time: 1, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// MaxLen bounds a password: hashing a megabyte would be a way to
	// burn CPU.
	MaxLen = 256
	// MinLen is the shortest password accepted for a new account.
	MinLen = 8
)

// ErrMalformed reports a stored hash that does not parse.
var ErrMalformed = errors.New("malformed password hash")

// Hash returns the PHC string of password under p, with a fresh salt.
func Hash(password string, p Params) string {
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Check reports whether password matches encoded, in time that does not
// depend on where they differ, and whether encoded was made with other
// parameters than current (so that it should be hashed again).
func Check(password, encoded string, current Params) (ok, stale bool, err error) {
	p, salt, key, err := parse(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, p != current, nil
}

// Valid reports whether encoded is a hash Check can read (ErrMalformed if
// not).
func Valid(encoded string) error {
	_, _, _, err := parse(encoded)
	return err
}

// Waste spends what a Check would on a password that is not checked (an
// account that does not exist), so that its answer takes as long as a wrong
// password's.
func Waste(p Params) {
	var salt [saltLen]byte
	argon2.IDKey([]byte("no such account"), salt[:], p.Time, p.Memory, p.Threads, keyLen)
}

// Maximum parameters a stored hash may ask for: a hash from elsewhere must
// not make a Check cost gigabytes.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 64
	maxThreads = 16
)

func parse(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, ErrMalformed
	}
	var threads uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, threads) != parts[3] {
		return p, nil, nil, ErrMalformed
	}
	if p.Memory < 8*threads || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime || threads < 1 || threads > maxThreads {
		return p, nil, nil, ErrMalformed
	}
	p.Threads = uint8(threads)
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, ErrMalformed
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, ErrMalformed
	}
	return p, salt, key, nil
}
