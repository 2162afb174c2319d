package gtkloop_test

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/gotk3/gotk3/gtk"
	"github.com/loomkit/loom/internal/xvfb"
	"golang.org/x/sys/unix"
)

// GTK wants its main loop on the main OS thread: the main goroutine keeps
// it and serves onMain's queue while the tests run on another goroutine.
func init() { runtime.LockOSThread() }

var (
	mainq   = make(chan func())
	mainTid int
)

func TestMain(m *testing.M) {
	stop, err := xvfb.ForTest()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gtkloop tests need an X display:", err)
		os.Exit(1)
	}
	runChild(false)
	if err := gtk.InitCheck(nil); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "gtk.InitCheck:", err)
		os.Exit(1)
	}
	mainTid = unix.Gettid()
	runChild(true)
	done := make(chan int)
	go func() { done <- m.Run() }()
	for {
		select {
		case f := <-mainq:
			serve(f)
		case code := <-done:
			stop()
			os.Exit(code)
		}
	}
}

// serve runs f on the main thread. A t.FailNow there would end the main
// goroutine, and GTK with it: say so plainly rather than hang.
func serve(f func()) {
	returned := false
	defer func() {
		if !returned && recover() == nil {
			fmt.Fprintln(os.Stderr, "t.FailNow (t.Fatal) called on the GTK thread: the GTK thread is gone; use t.Error there")
			os.Exit(2)
		}
	}()
	f()
	returned = true
}

// onMain runs f on the GTK thread and waits for it.
func onMain(f func()) {
	done := make(chan struct{})
	mainq <- func() {
		defer close(done)
		f()
	}
	<-done
}
