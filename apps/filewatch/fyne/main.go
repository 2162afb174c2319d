// Command filewatch-fyne is the Fyne front end of loom's file watcher: it
// watches a file or a folder and shows a live list of its events (with a
// filter, counts per kind and Follow), follows a log file in a tail pane
// (rotations and truncations marked), and puts up a banner when events
// may have been missed. With no path it watches a temporary folder where
// a generator makes changes. The core (package filewatch) does the work;
// the window (package fyneui) draws it, at most once per Fyne frame, on
// Fyne's goroutine, which runs the reactor (fyneloop.Start): no lock, no
// fyne.Do.
//
//	filewatch-fyne [-path file-or-folder] [-tail file] [-poll] [-recursive=false]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/loomkit/loom/apps/filewatch"
	"github.com/loomkit/loom/apps/filewatch/fyne/fyneui"
	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/reactor"
)

func main() {
	flags, err := filewatch.ParseFlags("filewatch-fyne", os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = run(flags)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "filewatch-fyne:", err)
		os.Exit(1)
	}
}

func run(flags filewatch.Flags) error {
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

	a := fyneapp.NewWithID("io.loomkit.filewatch")
	win := a.NewWindow(fyneui.Title)
	win.Resize(fyne.NewSize(1000, 720))
	u := fyneui.New(a, win, r, app)
	stopState := func() {}
	// Reactor calls from here on are made on Fyne's goroutine, in the
	// app's started hook, once the pump runs.
	a.Lifecycle().SetOnStarted(func() {
		u.Start()
		if flags.StateFile != "" {
			stopState = filewatch.WriteStateEvery(r, flags.StateFile, u.State)
		}
		if flags.QuitAfter > 0 {
			r.CallLater(flags.QuitAfter, r.Stop)
		}
	})
	win.SetCloseIntercept(func() {
		stopState() // the last state, while the widgets are there
		win.Close()
	})
	p, err := fyneloop.Start(a, r)
	if err != nil {
		return err
	}
	win.ShowAndRun()
	err = p.Stop()
	stopState()
	return err
}
