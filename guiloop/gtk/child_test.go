package gtkloop_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gotk3/gotk3/glib"
	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/deferred"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
)

// childEnv names a scenario that the test binary, started again by a
// test, runs on its GTK thread instead of the tests: for what ends the
// process.
const childEnv = "GTKLOOP_TEST_CHILD"

var children = map[string]func(){
	// Run before gtk.Init says so.
	"run-before-init": func() {
		r, err := reactor.New()
		if err != nil {
			panic(err)
		}
		err = gtkloop.Run(r)
		fmt.Println("Run:", err, errors.Is(err, gtkloop.ErrNotInitialized))
	},
	// A coroutine created in the main loop resumed inside a modal
	// dialog's nested loop.
	"coroutine-across-dialog": func() {
		r, err := reactor.New()
		if err != nil {
			panic(err)
		}
		d := deferred.New()
		deferred.Async(r, func(co *deferred.Co) (any, error) {
			fmt.Println("coroutine: waiting")
			deferred.Await(co, d)
			fmt.Println("coroutine: resumed")
			return nil, nil
		})
		r.CallLater(20*time.Millisecond, func() {
			dlg, _ := gtk.DialogNew()
			r.CallLater(20*time.Millisecond, func() { d.Callback(nil) })
			r.CallLater(300*time.Millisecond, func() { dlg.Response(gtk.RESPONSE_OK) })
			fmt.Println("dialog: running")
			dlg.Run()
			fmt.Println("dialog: done")
			dlg.Destroy()
			r.Stop()
		})
		if err := gtkloop.Run(r); err != nil {
			panic(err)
		}
	},
}

func init() {
	// Scenarios that end with the process's signals.
	for name, f := range map[string]func(){
		"attached-idle":           func() { attachedChild() },
		"attached-handle-signals": func() { attachedChild(gtkloop.HandleSignals()) },
		// No reactor work at all: "ready" comes from another goroutine,
		// so the reactor has no pass of its own before the signal.
		"run-idle": func() {
			runChildWith(func(*reactor.Reactor) { time.AfterFunc(300*time.Millisecond, func() { fmt.Println("ready") }) })
		},
		"attached-handle-signals-idle": func() {
			r, err := reactor.New()
			if err != nil {
				panic(err)
			}
			if _, err := gtkloop.Attach(r, gtkloop.HandleSignals()); err != nil {
				panic(err)
			}
			time.AfterFunc(300*time.Millisecond, func() { fmt.Println("ready") })
			gtk.Main()
			fmt.Println("gtk.Main returned")
			r.Close()
		},
		"dialog-open": func() {
			runChildWith(func(r *reactor.Reactor) {
				r.CallLater(20*time.Millisecond, func() { childDialog(r, 1, false) })
			})
		},
		"two-nested-dialogs": func() {
			runChildWith(func(r *reactor.Reactor) {
				r.CallLater(20*time.Millisecond, func() { childDialog(r, 2, false) })
			})
		},
		"file-chooser-open": func() {
			runChildWith(func(r *reactor.Reactor) {
				r.CallLater(20*time.Millisecond, func() { childDialog(r, 1, true) })
			})
		},
		// A GTK handler, not a reactor callback, runs the dialog.
		"dialog-from-button": func() {
			runChildWith(func(r *reactor.Reactor) {
				glib.TimeoutAdd(20, func() bool { childDialog(r, 1, false); return false })
			})
		},
	} {
		children[name] = f
	}
}

// attachedChild is an existing program with loom attached: it runs its
// own gtk.Main.
func attachedChild(opts ...gtkloop.Option) {
	r, err := reactor.New()
	if err != nil {
		panic(err)
	}
	if _, err := gtkloop.Attach(r, opts...); err != nil {
		panic(err)
	}
	r.CallLater(20*time.Millisecond, func() { fmt.Println("ready") })
	gtk.Main()
	fmt.Println("gtk.Main returned")
	r.Close()
}

// runChildWith is a new program: set up, then gtkloop.Run.
func runChildWith(setup func(r *reactor.Reactor)) {
	r, err := reactor.New()
	if err != nil {
		panic(err)
	}
	setup(r)
	err = gtkloop.Run(r)
	fmt.Println("Run returned:", err)
	r.Close()
}

// childDialog runs depth modal dialogs, each inside the one before (a
// file chooser for the innermost if chooser), and says "ready" once the
// innermost runs.
func childDialog(r *reactor.Reactor, depth int, chooser bool) {
	var dlg *gtk.Dialog
	if chooser && depth == 1 {
		fc, err := gtk.FileChooserDialogNewWith2Buttons("gtkloop chooser", nil, gtk.FILE_CHOOSER_ACTION_OPEN,
			"Cancel", gtk.RESPONSE_CANCEL, "Open", gtk.RESPONSE_ACCEPT)
		if err != nil {
			panic(err)
		}
		dlg = &fc.Dialog
	} else {
		d, err := gtk.DialogNew()
		if err != nil {
			panic(err)
		}
		d.AddButton("OK", gtk.RESPONSE_OK)
		dlg = d
	}
	dlg.SetTitle(fmt.Sprint("gtkloop dialog ", depth))
	dlg.SetModal(true)
	dlg.ShowAll()
	if depth > 1 {
		r.CallLater(20*time.Millisecond, func() { childDialog(r, depth-1, chooser) })
	} else {
		r.CallLater(50*time.Millisecond, func() { fmt.Println("ready") })
	}
	resp := dlg.Run()
	fmt.Println("dialog", depth, "answered:", resp)
	dlg.Destroy()
}

// runChild runs the scenario named in the environment, if any, and
// exits. It is called before gtk.Init and after it; scenarios whose name
// ends in "-before-init" run on the first call, the others on the second.
func runChild(initialized bool) {
	name := os.Getenv(childEnv)
	if name == "" || strings.HasSuffix(name, "-before-init") == initialized {
		return
	}
	f, ok := children[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "no such child scenario:", name)
		os.Exit(3)
	}
	f()
	os.Exit(0)
}
