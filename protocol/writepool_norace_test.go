//go:build !race

package protocol_test

const poolDropsUnderRace = false
