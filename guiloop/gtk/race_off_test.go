//go:build !race

package gtkloop_test

const raceEnabled = false
