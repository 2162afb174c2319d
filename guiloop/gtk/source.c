#include <gtk/gtk.h>
#include "source.h"
#include "_cgo_export.h"

typedef struct {
	GSource base;
	uintptr_t handle;
	gpointer tag;    // the watched descriptor, NULL once unwatched
	gint64 deadline; // monotonic µs when the reactor's next timer is due, or -1
	gboolean yielding; // this iteration is left to sources of lower priority
} LoomSource;

// prepare asks the reactor how long GLib may sleep: 0 means ready now,
// -1 means only the descriptor can wake it, -2 that the source lets this
// iteration go to sources of lower priority, otherwise milliseconds
// already rounded up by the Go side.
static gboolean loom_prepare(GSource *s, gint *timeout) {
	LoomSource *ls = (LoomSource *)s;
	gint ms = loomPrepare(ls->handle);
	if (ms == -2) {
		// Busy for a while: let this iteration go to lower priorities.
		ls->yielding = TRUE;
		ls->deadline = -1;
		*timeout = 0;
		return FALSE;
	}
	ls->yielding = FALSE;
	if (ms == 0) {
		ls->deadline = -1;
		*timeout = 0;
		return TRUE;
	}
	ls->deadline = ms < 0 ? -1 : g_get_monotonic_time() + (gint64)ms * 1000;
	*timeout = ms;
	return FALSE;
}

// check is pure C: ready when the descriptor polled readable (or broken,
// so that dispatch finds out why) or when the timeout has come.
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
	loomDispatch(((LoomSource *)s)->handle);
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
