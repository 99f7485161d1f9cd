//go:build race

package interop

// raceEnabled reports whether the tests run with -race; the gateway binary is then built with -race too.
const raceEnabled = true
