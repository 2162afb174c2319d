//go:build race

package protocol_test

// The race detector makes sync.Pool drop some of what is put back, so the
// sending helpers allocate now and then under it.
const poolDropsUnderRace = true
