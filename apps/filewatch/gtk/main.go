// Command filewatch-gtk is the GTK front end of loom's file watcher: it
// watches a file or a folder and shows a live list of its events (with a
// filter, counts per kind and Follow), follows a log file in a tail pane
// (rotations and truncations marked), and puts up a banner when events
// may have been missed. With no path it watches a temporary folder where
// a generator makes changes. The core (package filewatch) does the work;
// this window draws it, at most once per frame, on the GTK thread, which
// runs the reactor (gtkloop.Run): no lock, no idle callback.
//
//	filewatch-gtk [-path file-or-folder] [-tail file] [-poll] [-recursive=false]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/gotk3/gotk3/gtk"

	"github.com/loomkit/loom/apps/filewatch"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
)

// gtk.Main must run on the main OS thread.
func init() { runtime.LockOSThread() }

func main() {
	flags, err := filewatch.ParseFlags("filewatch-gtk", os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = run(flags)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "filewatch-gtk:", err)
		os.Exit(1)
	}
}

func run(flags filewatch.Flags) error {
	if err := gtk.InitCheck(nil); err != nil {
		return err
	}
	r, err := reactor.New()
	if err != nil {
		return err
	}
	defer r.Close()
	app, err := filewatch.New(r, flags.Config)
	if err != nil {
		return err
	}
	defer app.Close()
	w, err := newWindow(r, app)
	if err != nil {
		return err
	}
	w.win.Connect("destroy", r.Stop)
	stopState := func() {}
	if flags.StateFile != "" {
		// The last state is written while the widgets are still there:
		// when the window is asked to close, or when Run returns.
		stopState = filewatch.WriteStateEvery(r, flags.StateFile, w.state)
		w.win.Connect("delete-event", func() bool { stopState(); return false })
	}
	if flags.QuitAfter > 0 {
		r.CallLater(flags.QuitAfter, r.Stop)
	}
	w.win.ShowAll()
	err = gtkloop.Run(r)
	stopState()
	return err
}
