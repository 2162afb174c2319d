package gtkloop

// MainLevel is gtk_main_level, for the tests.
var MainLevel = mainLevel
