//go:build race

package auth

// raceEnabled: the race detector slows argon2id down by an order of
// magnitude; tests that only need equal (not realistic) cost use smaller
// parameters then.
const raceEnabled = true
