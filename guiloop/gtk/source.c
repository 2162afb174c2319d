#include <gtk/gtk.h>
#include "source.h"
#include "_cgo_export.h"

typedef struct {
	GSource base;
	uintptr_t handle;
	gpointer tag;    // the watched descriptor, NULL once unwatched
	gint64 deadline; // monotonic µs when the reactor's next timer is due, or -1
	gboolean yielding; // this iteration is left to sources of lower priority
	gboolean ask;      // prepare must call the Go side; else next stands
	gint64 next;       // monotonic µs of the reactor's next timer, or -1
} LoomSource;

// remember keeps what the Go side said the reactor needs, as
// microseconds from now (-1: nothing but the descriptor), for the
// following prepares to serve without calling Go: work added since,
// outside a pass, wakes the descriptor (the reactor nudges its backend).
// LOOM_ASK (the source is stopping, or yields an iteration) makes the
// next prepare call Go.
#define LOOM_ASK (-2)
#define LOOM_YIELD (-3)
static void remember(LoomSource *ls, gint64 us) {
	ls->ask = us == LOOM_ASK;
	ls->next = us < 0 ? -1 : g_get_monotonic_time() + us;
}

// nested_us is when the latest main-loop iteration inside a dispatch
// began (see loom_nested_within); GTK thread only.
static gint64 nested_us;

int loom_nested_within(gint64 us) {
	return nested_us != 0 && g_get_monotonic_time() - nested_us <= us;
}

// prepare tells GLib how long it may sleep. It calls the Go side only
// when the last dispatch asked for it (see remember): loomPrepare says,
// in microseconds, when the reactor has work: 0 now, -1 only when the
// descriptor wakes, LOOM_YIELD to let this iteration go to sources of
// lower priority, LOOM_ASK while stopping (ready now only if 0).
static gboolean loom_prepare(GSource *s, gint *timeout) {
	LoomSource *ls = (LoomSource *)s;
	ls->yielding = FALSE;
	if (g_main_depth() > 0) {
		// An iteration inside a dispatch: a nested main loop (a modal
		// dialog's) is running, so the window is not frozen.
		nested_us = g_get_monotonic_time();
	}
	if (ls->ask) {
		gint64 us = loomPrepare(ls->handle);
		if (us == LOOM_YIELD) {
			ls->yielding = TRUE;
			ls->deadline = -1;
			*timeout = 0;
			return FALSE;
		}
		if (us == LOOM_ASK) {
			// Stopping: ready now or not at all, asked again each time.
			ls->deadline = -1;
			*timeout = -1;
			return FALSE;
		}
		if (us == 0) {
			ls->deadline = -1;
			*timeout = 0;
			return TRUE;
		}
		remember(ls, us);
	}
	ls->deadline = ls->next;
	if (ls->next < 0) {
		*timeout = -1;
		return FALSE;
	}
	gint64 left = ls->next - g_get_monotonic_time();
	if (left <= 0) {
		ls->deadline = -1;
		*timeout = 0;
		return TRUE;
	}
	// Rounded up, so that a timer due in 0.3ms makes GLib sleep 1ms,
	// not spin with 0.
	gint64 ms = (left + 999) / 1000;
	*timeout = ms > G_MAXINT ? G_MAXINT : (gint)ms;
	return FALSE;
}

static gboolean loom_check(GSource *s) {
	LoomSource *ls = (LoomSource *)s;
	if (ls->yielding) {
		ls->yielding = FALSE;
		return FALSE;
	}
	if (ls->tag != NULL &&
	    (g_source_query_unix_fd(s, ls->tag) & (G_IO_IN | G_IO_ERR | G_IO_HUP | G_IO_NVAL)) != 0) {
		return TRUE;
	}
	return ls->deadline >= 0 && g_get_monotonic_time() >= ls->deadline;
}

static gboolean loom_dispatch(GSource *s, GSourceFunc cb, gpointer data) {
	(void)cb;
	(void)data;
	LoomSource *ls = (LoomSource *)s;
	remember(ls, loomDispatch(ls->handle, g_main_depth()));
	return G_SOURCE_CONTINUE;
}

static void loom_finalize(GSource *s) {
	loomFinalize(((LoomSource *)s)->handle);
}

static GSourceFuncs loom_funcs = {
	loom_prepare,
	loom_check,
	loom_dispatch,
	loom_finalize,
	NULL,
	NULL,
};

GSource *loom_source_new(uintptr_t handle, int fd, int priority) {
	GSource *s = g_source_new(&loom_funcs, sizeof(LoomSource));
	LoomSource *ls = (LoomSource *)s;
	ls->handle = handle;
	ls->deadline = -1;
	ls->ask = TRUE;
	ls->next = -1;
	ls->tag = g_source_add_unix_fd(s, fd, G_IO_IN);
	g_source_set_priority(s, priority);
	g_source_set_can_recurse(s, TRUE);
	g_source_set_name(s, "loom reactor");
	g_source_attach(s, NULL);
	return s;
}

void loom_source_unwatch(GSource *s) {
	LoomSource *ls = (LoomSource *)s;
	if (ls->tag != NULL) {
		g_source_remove_unix_fd(s, ls->tag);
		ls->tag = NULL;
	}
}

void loom_source_free(GSource *s) {
	g_source_destroy(s);
	g_source_unref(s);
}

int loom_gtk_main_level(void) { return (int)gtk_main_level(); }

void loom_gtk_main_quit(void) { gtk_main_quit(); }

int loom_quit_default_application(void) {
	GApplication *app = g_application_get_default();
	if (app == NULL) {
		return 0;
	}
	g_application_quit(app);
	return 1;
}

int loom_context_is_ours(void) {
	GMainContext *ctx = g_main_context_default();
	if (!g_main_context_acquire(ctx)) {
		return 0;
	}
	g_main_context_release(ctx);
	return 1;
}

int loom_gtk_initialized(void) { return gdk_display_get_default() != NULL; }

void loom_nest(uintptr_t handle) { loomNest(handle); }

int loom_answer_modal_dialogs(void) {
	// The list holds no references, and a response handler may destroy
	// other windows: hold each one until the walk is done.
	GList *all = gtk_window_list_toplevels();
	g_list_foreach(all, (GFunc)g_object_ref, NULL);
	int n = 0;
	for (GList *l = all; l != NULL; l = l->next) {
		GtkWidget *w = GTK_WIDGET(l->data);
		if (GTK_IS_DIALOG(w) && gtk_window_get_modal(GTK_WINDOW(w)) && gtk_widget_get_mapped(w)) {
			gtk_dialog_response(GTK_DIALOG(w), GTK_RESPONSE_DELETE_EVENT);
			n++;
		}
	}
	g_list_free_full(all, g_object_unref);
	return n;
}

int loom_main_depth(void) { return g_main_depth(); }
