//go:build race

package gtkloop_test

// raceEnabled says the test binary was built with -race: programs the
// tests build are built so too, from the same compiled packages.
const raceEnabled = true
