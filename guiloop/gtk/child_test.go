package gtkloop_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
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
