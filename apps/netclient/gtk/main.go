// Command netclient-gtk is the GTK front end of loom's network console:
// a line console (connect to host:port, plaintext or TLS; send lines; the
// exchange with the two directions told apart; the connection's state and
// errors in words; reconnect) and HTTP transfers (several at once, each
// with its progress bar, rate, time left and Cancel; status, headers, a
// saved file). With no -connect or -url it starts its own servers on
// 127.0.0.1 and offers them.
//
// The window draws the core (apps/netclient) once a frame; every widget
// update runs on the GTK thread in a reactor callback, driven by
// gtkloop.Run, with no lock and no idle callback.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"

	"github.com/gotk3/gotk3/gtk"

	"github.com/loomkit/loom/apps/netclient"
	gtkloop "github.com/loomkit/loom/guiloop/gtk"
	"github.com/loomkit/loom/reactor"
)

// gtk.Main must run on the main OS thread.
func init() { runtime.LockOSThread() }

func main() {
	var o netclient.Options
	o.Register(flag.CommandLine)
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "netclient-gtk:", err)
		os.Exit(1)
	}
}

func run(o netclient.Options) error {
	if err := gtk.InitCheck(nil); err != nil {
		return err
	}
	r, err := reactor.New()
	if err != nil {
		return err
	}
	defer r.Close()
	s, err := netclient.Start(r, o)
	if err != nil {
		return err
	}
	defer s.Close()
	w, err := newWindow(s)
	if err != nil {
		return err
	}
	w.win.Connect("destroy", r.Stop)
	s.WatchState(w.state)
	// The reactor subscribes to SIGINT and SIGTERM on its first pass, and
	// gtkloop.Run runs one when there is work: ask for one at once, so
	// that a signal that comes before any other work stops the reactor
	// (and ends the window) rather than the process.
	r.CallSoon(func() {})
	log.Printf("netclient-gtk: %s; files saved in %s", s.View().Console.Addr, s.Downloads())
	return gtkloop.Run(r)
}
