package gtkloop_test

import (
	"fmt"
	"os"
	"time"

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

// runChild runs the scenario named in the environment, if any, and exits.
func runChild() {
	name := os.Getenv(childEnv)
	if name == "" {
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
