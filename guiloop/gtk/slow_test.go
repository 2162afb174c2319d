package gtkloop_test

import (
	"fmt"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/gotk3/gotk3/glib"
	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/reactor"
	"github.com/loomkit/loom/reactor/reactortest"
)

// With LOOM_SLOW=1 and gtkloop driving the reactor, a callback is slow
// over one 60 Hz frame: the 50 ms one is reported with the line that
// registered it, the 1 ms one is not, nor is a GLib callback of the
// program's own (the window froze, but not in a callback of the loop's).
func TestSlowCallbackInsideGTK(t *testing.T) {
	reactortest.CheckLeaks(t)
	t.Setenv("LOOM_SLOW", "1")
	logs := &reactortest.Records{}
	r := newReactor(t, reactor.WithLogger(slog.New(logs)))
	wait := start(t, r)
	var threshold time.Duration
	_, file, line, _ := runtime.Caller(0)
	onLoop(r, func() {
		threshold = r.SlowThreshold()
		r.CallLater(time.Millisecond, func() { time.Sleep(50 * time.Millisecond) })
		r.CallLater(time.Millisecond, func() { time.Sleep(time.Millisecond) })
		glib.IdleAdd(func() bool { time.Sleep(30 * time.Millisecond); return false })
		r.CallLater(200*time.Millisecond, r.Stop)
	})
	ok(t, wait())
	if threshold != reactor.FrameThreshold {
		t.Errorf("the default threshold under gtkloop is %v", threshold)
	}
	reports := logs.SlowReports()
	if len(reports) != 1 {
		t.Fatalf("%d slow callbacks reported, want 1: %v", len(reports), reports)
	}
	if want := fmt.Sprintf("%s:%d", file, line+3); reports[0]["site"] != want || reports[0]["kind"] != "timer" {
		t.Errorf("reported %v, want a timer at %s", reports[0], want)
	}
}

// A reactor callback that runs a modal dialog's own loop (gtk_dialog_run)
// waits there with the window answering: it is not reported, though the
// reactor had nothing to do meanwhile (no nested pass marked it). A slow
// callback after it still is.
func TestModalDialogInACallbackIsNotSlow(t *testing.T) {
	t.Setenv("LOOM_SLOW", "1")
	logs := &reactortest.Records{}
	r := newReactor(t, reactor.WithLogger(slog.New(logs)))
	wait := start(t, r)
	_, file, line, _ := runtime.Caller(0)
	onLoop(r, func() {
		r.CallLater(time.Millisecond, func() {
			dlg, err := gtk.DialogNew()
			if err != nil {
				t.Error(err)
				r.Stop()
				return
			}
			dlg.SetTitle("gtkloop slow dialog")
			dlg.AddButton("OK", gtk.RESPONSE_OK)
			dlg.SetModal(true)
			dlg.ShowAll()
			glib.TimeoutAdd(150, func() bool { dlg.Response(gtk.RESPONSE_OK); return false })
			dlg.Run()
			dlg.Destroy()
			r.CallLater(30*time.Millisecond, func() { time.Sleep(50 * time.Millisecond) })
			r.CallLater(300*time.Millisecond, r.Stop)
		})
	})
	ok(t, wait())
	reports := logs.SlowReports()
	if want := fmt.Sprintf("%s:%d", file, line+16); len(reports) != 1 || reports[0]["site"] != want {
		t.Errorf("reports %v, want only the 50 ms timer at %s", reports, want)
	}
}
