package gtkloop

// MainLevel is gtk_main_level, for the tests.
var MainLevel = mainLevel

// TimeoutMillis is timeoutMillis, for the tests.
var TimeoutMillis = timeoutMillis
