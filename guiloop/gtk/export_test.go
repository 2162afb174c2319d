package gtkloop

// MainLevel is gtk_main_level, for the tests.
var MainLevel = mainLevel

// Micros is micros, for the tests.
var Micros = micros

// Prepares is how many times GLib's prepare has called Go.
func Prepares() int { return prepares }
