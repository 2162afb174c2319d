// Command netclient-fyne is the Fyne front end of loom's network
// console: the same core as netclient-gtk (apps/netclient), drawn by
// apps/netclient/fyne/ui in a Fyne window, with the reactor driven from
// Fyne's event loop by fyneloop. With no -connect or -url it starts its
// own servers on 127.0.0.1 and offers them.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/theme"

	"github.com/loomkit/loom/apps/netclient"
	"github.com/loomkit/loom/apps/netclient/fyne/ui"
	fyneloop "github.com/loomkit/loom/guiloop/fyne"
	"github.com/loomkit/loom/reactor"
)

func main() {
	var o netclient.Options
	o.Register(flag.CommandLine)
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "netclient-fyne:", err)
		os.Exit(1)
	}
}

func run(o netclient.Options) error {
	r, err := reactor.New()
	if err != nil {
		return err
	}
	defer r.Close()
	a := app.NewWithID("io.loomkit.netclient")
	a.Settings().SetTheme(ui.Light{Theme: theme.DefaultTheme()})
	// Until the pump starts, this goroutine is the reactor's.
	s, err := netclient.Start(r, o)
	if err != nil {
		return err
	}
	w := a.NewWindow(ui.Title)
	u := ui.New(s.App)
	w.SetContent(u.Content)
	w.Resize(fyne.NewSize(980, 760))
	s.WatchState(func() netclient.State { return u.State(w.Canvas()) })
	p, err := fyneloop.Start(a, r)
	if err != nil {
		s.Close()
		return err
	}
	log.Printf("netclient-fyne: %s; files saved in %s", s.View().Console.Addr, s.Downloads())
	w.ShowAndRun()
	err = p.Stop()
	s.Close() // the pump has stopped: this goroutine is the reactor's again
	return err
}
