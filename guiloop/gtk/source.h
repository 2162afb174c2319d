// The GSource that drives a loom reactor from GLib's main loop. The Go
// side (source.go) exports loomPrepare, loomDispatch and loomFinalize.
// For one ready event GLib's iteration makes one call into Go, the
// dispatch: prepare serves the reactor's next timeout as the dispatch
// left it.

#ifndef LOOM_SOURCE_H
#define LOOM_SOURCE_H

#include <stdint.h>
#include <glib.h>

// loom_source_new creates the source, watching fd for input, and attaches
// it to the default main context. handle is the runtime/cgo.Handle of the
// Go side; it is given back to loomFinalize when GLib frees the source.
GSource *loom_source_new(uintptr_t handle, int fd, int priority);

// loom_source_unwatch stops polling the descriptor (a stopped reactor).
void loom_source_unwatch(GSource *s);

// loom_source_free destroys the source and drops the reference
// loom_source_new returned.
void loom_source_free(GSource *s);

// loom_gtk_main_level and loom_gtk_main_quit are gtk_main_level and
// gtk_main_quit.
int loom_gtk_main_level(void);
void loom_gtk_main_quit(void);

// loom_quit_default_application quits the process's default GApplication
// and reports whether there was one.
int loom_quit_default_application(void);

// loom_context_is_ours reports whether the calling thread may iterate the
// default main context: it owns it or nobody does.
int loom_context_is_ours(void);

// loom_gtk_initialized reports whether gtk_init has opened a display.
int loom_gtk_initialized(void);

// loom_nest calls loomNest(handle) from C: one cgo callback deeper.
void loom_nest(uintptr_t handle);

// loom_answer_modal_dialogs answers every mapped modal GtkDialog with
// GTK_RESPONSE_DELETE_EVENT, as if the user had closed it, which ends
// the nested loop of a gtk_dialog_run on it; it returns how many.
int loom_answer_modal_dialogs(void);

// loom_nested_within reports whether a main-loop iteration ran inside a
// dispatch (a nested main loop's) within the last us microseconds.
int loom_nested_within(gint64 us);

// loom_main_depth is g_main_depth.
int loom_main_depth(void);

#endif
